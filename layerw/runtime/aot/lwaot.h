/* lwaot: the AOT tier's sandbox around wasm2c-translated game modules (see lwaot.c). */
#ifndef LWAOT_H_
#define LWAOT_H_

#include <stdint.h>

#include "wasm-rt.h"

#define LW_EXPORT __attribute__((visibility("default")))

/* The folded view of a default 32-bit memory (lwaot.c, map_folded): an access the translation
 * folds, a sum of at most three terms below 2^32 each (x + k, x + y, x + y + k), uses
 * data + LW_FOLDED_VIEW, where the memory appears again every LW_MIRROR_AT (LW_MIRRORS copies) so
 * that a sum past 2^32 or 2^33 reaches what wasm's wrapping adds do. */
#define LW_FOLDED_VIEW 0x200000000ull /* 8 GiB: view A, the memory and its guard pages, ends here */
#define LW_MIRROR_AT 0x100000000ull
#define LW_MIRRORS 3
#define LW_RESERVE (LW_FOLDED_VIEW + LW_MIRRORS * LW_MIRROR_AT + 0x10000ull) /* both views, 64 KiB past the last access */

/* Trap codes beyond wasm2c's wasm_rt_trap_t (returned by lw_call). */
enum {
  LW_TRAP_DEADLINE = 100,       /* the call ran past its CPU deadline */
  LW_TRAP_HOST = 101,           /* a host import failed (its Python error is kept on the Python side) */
  LW_TRAP_INITIAL_MEMORY = 102, /* the module's initial memory exceeds the cap */
  LW_TRAP_MEMORY_COUNT = 103,   /* a second memory */
  LW_TRAP_TABLE_COUNT = 106,    /* more tables than a game may have */
  LW_TRAP_TABLE_SIZE = 107,     /* a table larger than a game may have */
  LW_TRAP_SETUP = 104,          /* the thread's timer or signal stack could not be set up */
  LW_TRAP_REENTRY = 105,        /* a call into a guest while this thread already runs one */
};

/* A host import, implemented in Python: ``index`` names the import (the glue's table),
 * ``args`` its arguments widened to 64 bits; 0 = ok with ``*result`` set, else the import failed. */
typedef int (*lw_host_fn)(int32_t index, const uint64_t* args, uint64_t* result);

typedef struct lw_instance lw_instance;

/* Runs one export (or instantiation) of the module, its result's bits in *result; provided by the glue. */
typedef void (*lw_dispatch_fn)(lw_instance*, int32_t which, const uint32_t* args, uint64_t* result);

struct lw_instance {
  lw_dispatch_fn dispatch;
  lw_host_fn host;
  wasm_rt_memory_t* memory; /* the exported memory, once instantiated */
  uint64_t cap_pages;       /* the memory cap, in 64 KiB pages */
  uint32_t max_table_elements;
  uint32_t max_tables;
  uint32_t memories;        /* memories and tables allocated so far */
  uint32_t tables;
  int32_t instantiated;
};

/* The import namespaces wasm2c passes to every import: each points back at its instance. */
typedef struct lw_namespace {
  lw_instance* instance;
} lw_namespace;

uint64_t lw_host_call(lw_namespace* ns, int32_t index, const uint64_t* args);
void lw_trap(wasm_rt_trap_t code);

/* Runtime calls the generated module makes, renamed (-D) to these so that they run with the
 * deadline deferred and the caps applied. */
void lw_allocate_memory(wasm_rt_memory_t*, uint64_t initial_pages, uint64_t max_pages, bool is64, uint32_t page_size);
uint64_t lw_grow_memory(wasm_rt_memory_t*, uint64_t pages);
void lw_free_memory(wasm_rt_memory_t*);
void lw_allocate_funcref_table(wasm_rt_funcref_table_t*, uint32_t elements, uint32_t max_elements);
void lw_allocate_externref_table(wasm_rt_externref_table_t*, uint32_t elements, uint32_t max_elements);
uint32_t lw_grow_funcref_table(wasm_rt_funcref_table_t*, uint32_t delta, wasm_rt_funcref_t init);
uint32_t lw_grow_externref_table(wasm_rt_externref_table_t*, uint32_t delta, wasm_rt_externref_t init);

#endif
