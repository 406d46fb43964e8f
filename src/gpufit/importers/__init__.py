"""Reading a local model (GGUF file or Hugging Face folder) into a ModelSpec with exact weights."""
