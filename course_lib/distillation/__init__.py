"""Part 3 of the course, knowledge distillation (lesson 10): soft targets and the KD loss (`kd`),
feature hints and attention transfer (`features`)."""
