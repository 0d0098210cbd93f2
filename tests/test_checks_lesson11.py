"""Lesson 11 checkers pass the reference and reject realistic wrong answers, naming the mistake."""
from course_lib.coding import entropy_coding as E
from course_lib.coding import weight_sharing as S
from course_lib.checks import lesson11 as L
from checker_harness import checker_tests

CHECKERS = {
    "rel_csr_bytes": (L.check_rel_csr_bytes, E.relative_csr_bytes, {
        "no fillers": (L.csr_no_fillers, "no filler zeros"),
        "2^bits": (L.csr_fillers_at_2_pow_bits, "2**index_bits - 1"),
        "absolute gaps": (L.csr_absolute_gaps, "previous entry of the same row"),
        "no pointer": (L.csr_no_pointer, "row pointer is missing"),
        "fractional": (L.csr_fractional, "round each stream up")}),
    "huffman_total_bits": (L.check_huffman_total_bits, E.huffman_bits, {
        "fixed length": (L.huffman_fixed_length, "fixed-length code"),
        "entropy": (L.huffman_entropy, "entropy bound"),
        "one symbol 0 bits": (L.huffman_one_symbol_zero, "1 bit per occurrence"),
        "most frequent merged": (L.huffman_max_merge, "LEAST frequent")}),
    "sharing_rate": (L.check_sharing_rate, S.compression_rate, {
        "no codebook": (L.rate_no_codebook, "codebook is missing"),
        "k not log2 k": (L.rate_k_not_log, "log2(k)"),
        "inverted": (L.rate_inverted, "dense / shared"),
        "codebook in index bits": (L.rate_codebook_bits, "full float")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)
