"""ggml_export: training runs (peft LoRA on a llama/qwen2 base) to GGUF files llama.cpp loads.

Entry points: `pairterm export` and `python -m ggml_export` (ggml_export.cli.main).
"""
