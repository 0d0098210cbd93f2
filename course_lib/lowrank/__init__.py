"""Part 4 of the course, low rank (lesson 14): truncated SVD of a layer (`svd`), the data-aware
variant, Tucker-2 of a convolution (`tucker`), and low-rank adapters, LoRA (`lora`)."""
