"""Part 2 of the course, quantization (lessons 07-09): number formats, the quantize/dequantize
primitives and integer kernels, observers, error analysis, post-training quantization and QAT."""
