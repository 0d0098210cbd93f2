"""The course's foundations: networks (MLP, a small CNN), their training loop, data, measurement,
shared array kernels (`ops`) and argument validation. Every other part of course_lib builds on these."""
