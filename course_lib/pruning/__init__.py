"""Part 1 of the course, pruning (lessons 00-06): sparsity counts, masks, schedules, pruning loops,
filter pruning, second-order saliencies (OBD, OBS) and decision-tree pruning."""
