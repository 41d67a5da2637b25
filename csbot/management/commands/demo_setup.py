"""``manage.py demo_setup``: the demo shop's KB, intents and staff users. Idempotent."""
from django.core.management.base import BaseCommand
from django.db import transaction

from conversations.services import demo_site_key_ensure
from csbot.demo import demo_users_ensure
from handoff.services.demo import handoff_demo_load
from knowledge.services import demo_kb_load
from nlp.services import demo_intents_load


class Command(BaseCommand):
    help = "加载演示数据：云朵优选知识库、意图与演示账号（可重复运行，不会重复创建）"

    def handle(self, *args, **options):
        with transaction.atomic():
            kb = demo_kb_load()
            intents = demo_intents_load()
            users = demo_users_ensure()
            site, site_created = demo_site_key_ensure()
            handoff = handoff_demo_load()
        self.stdout.write(f"知识库：{kb['entries']} 条（本次变更 {kb['changed']} 条；商品名变更 {kb['products_changed']} 组）")
        self.stdout.write(f"意图：{intents['intents']} 个，例句 {intents['examples']} 条（本次变更 {intents['changed']} 个）")
        self.stdout.write("演示账号（登录 /admin/）：")
        for demo, created in users:
            role = demo.group or "超级管理员"
            note = "新建" if created else "已存在，密码未改动"
            self.stdout.write(f"  {demo.username:<8} 密码 {demo.password:<20} {role}（{note}）")
        self.stdout.write(f"演示站点密钥：{site.key}（{'新建' if site_created else '已存在'}）；演示商城 http://127.0.0.1:8000/")
        self.stdout.write(f"快捷回复与工作时间：新建 {handoff[0]} 条快捷回复、{handoff[1]} 个工作时段")
