"""Chinese understanding of a message: normalisation, jieba tokenisation with KB dictionaries,
intent classification (training, evaluation, model versions), entities, sentiment, PII masking
and the answer matcher. Heavy models load lazily, once per process."""
