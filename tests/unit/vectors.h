/* SPDX-License-Identifier: GPL-2.0 */
/* vectors.h - load the public DFU files of tests/vectors */
#ifndef TESTS_VECTORS_H
#define TESTS_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read tests/vectors/@name ($DFU_VECTORS overrides the directory) into a
 * new buffer; fails the running test when it cannot.
 */
uint8_t *vector_load(const char *name, size_t *len);

#endif
