#ifndef C_AGENT_RUNTIME_H
#define C_AGENT_RUNTIME_H

#include <malloc.h>

/// glibc's mallopt, which Swift's Glibc module does not bring in (malloc.h is not in
/// it): two arenas at most, and a fixed 128 KiB size from which a block gets a
/// mapping of its own (so a freed large block is unmapped at once). Returns 1 when
/// both settings were taken.
static inline int tender_bound_allocator(void) {
    int arenas = mallopt(M_ARENA_MAX, 2);
    int threshold = mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    return arenas == 1 && threshold == 1;
}

#endif
