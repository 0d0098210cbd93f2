"""Storage and coding (lessons 02 and 11): sparse formats, k-means weight sharing and entropy coding."""
