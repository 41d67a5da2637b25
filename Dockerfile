# csbot production image: one image, several roles (gunicorn web, daphne ws, celery worker/beat).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=csbot.settings.base CSBOT_VAR_DIR=/app/var
WORKDIR /app
RUN useradd --create-home --uid 1000 csbot
COPY requirements.txt ./
# The CPU build of torch, exactly 2.13.0 (the default index would pull CUDA packages).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r requirements.txt
COPY . .
# collectstatic needs a key only to import settings; it is not used at run time.
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
 && mkdir -p /app/var && chown -R csbot /app/var
USER csbot
EXPOSE 8000 8001
CMD ["gunicorn", "csbot.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
