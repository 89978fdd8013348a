/* lwaot: the AOT tier's sandbox around wasm2c-translated game modules.
 *
 * One shared runtime library (this file with wasm2c's runtime) serves every module loaded in the
 * process; each module's library calls lw_call's dispatch and the lw_* hooks below.
 *
 * CPU deadline. Each call into guest code runs under lw_call, which setjmps and writes the call's
 * CPU budget and sequence number where a watchdog thread sees them: no syscall per call and nothing
 * on the guest's hot path. The watchdog (one per process) looks every WATCH_MS at the CPU clock of
 * each thread in a call (the thread's own CPU time, so a thread the scheduler keeps waiting on a
 * loaded machine is not charged for the wait): it notes the clock when it first sees a call, and
 * sends LW_SIGNAL (pthread_kill: that thread only) once the call has used its budget since. A call
 * thus gets its budget plus at most the CPU time it used before the watchdog's next look. The
 * signal is stamped with the call's number so one that arrives after the call ended (the thread may
 * be in its next call) is ignored. The thread is in one of three states:
 *   GUEST   - translated guest code runs: the signal handler siglongjmps out (LW_TRAP_DEADLINE).
 *   HOST    - a host import (a Python callback through ctypes) or a runtime call that allocates
 *             (memory/table grow) runs: the handler only sets `expired`; the trap is taken when
 *             control returns to guest code (lw_host_call / the lw_* hooks check it). So a longjmp
 *             never crosses a Python frame, never leaves malloc or a half-grown memory behind,
 *             and the GIL (held only while Python runs) is never held by a frame we jump over.
 *   OUTSIDE - no guest on this thread: the handler does nothing.
 *
 * Memory and stack. Linear memory is bounded by guard pages (wasm2c's 8 GiB reservation); a fault
 * in that reservation while the thread runs guest code is an out-of-bounds trap, a fault next to
 * the thread's stack limit is stack exhaustion (handled on an alternate signal stack). Any other
 * fault, or one outside guest code, goes to the handler installed before ours (wasmtime's, Python's
 * faulthandler's or the default), so both tiers share one process. Before a host import, at least
 * HOST_HEADROOM bytes of stack must remain, so Python never runs into the guard page itself.
 * The memory cap clamps every memory's maximum (a grow past it answers -1, as on wasmtime).
 * A default 32-bit memory is a memfd mapped in two views (map_folded): wasm2c's, and the folded
 * view the translation's folded accesses use. Being a shared mapping, a child forked while an
 * instance lives shares that instance's memory with the parent (a new instance in the child has
 * its own).
 *
 * Backtraces. When a call traps (lw_trap, a fault, the deadline signal while guest code runs) the
 * thread's native stack is captured (glibc's backtrace: libgcc's unwinder and the libraries' unwind
 * tables, through the signal frame) before the jump unwinds it; lw_trace hands it to the host, which
 * maps each address through the module's line table to wasm code offsets (annotation.py,
 * linetable.py). Nothing is recorded while a call runs.
 */
#define _GNU_SOURCE
#include "lwaot.h"

#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define LW_SIGNAL (SIGRTMIN + 7)
#define HOST_HEADROOM (256 * 1024)
#define STACK_FAULT_BELOW (4 * 1024 * 1024) /* faults this far below the stack's low end are overflows */
#define STACK_FAULT_ABOVE (64 * 1024)
#define ALT_STACK_SIZE (64 * 1024)
#define WATCH_MS 1
#define TRACE_MAX 64 /* native frames kept of a trap's stack, innermost first */

enum { OUTSIDE = 0, GUEST = 1, HOST = 2 };

typedef struct lw_thread {
  sigjmp_buf jmp;
  volatile sig_atomic_t state;
  volatile sig_atomic_t expired;
  lw_instance* current;
  uint64_t budget_ns;   /* the CPU time the call in flight may use, 0 when none (atomic: the watchdog reads it) */
  uint64_t seq;         /* the call's number (atomic) */
  uint64_t fired_seq;   /* the call the watchdog signalled last (atomic) */
  uint64_t watched_seq; /* the watchdog's own (under registry_lock): the call it last saw, */
  uint64_t cpu_at_watch; /* and the thread's CPU clock when it first saw it */
  clockid_t cpu_clock;  /* this thread's CPU-time clock */
  pthread_t self;
  char* stack_lo;
  void* alt_stack;
  void* trace[TRACE_MAX]; /* the last trap's native stack */
  int trace_len;
  void* trace_exact;      /* the interrupted instruction itself (a fault, the deadline): not a return address */
  struct lw_thread* next;
  struct lw_thread* prev;
} lw_thread;

static __thread __attribute__((tls_model("initial-exec"))) lw_thread* lw_self;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static int handlers_ok;
static struct sigaction prev_segv, prev_bus;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static lw_thread* registry; /* every thread that has called a guest, for the watchdog */

/* The CPU time thread ``t`` has used (its clock's nanoseconds), or 0 where it cannot be read. */
static uint64_t cpu_ns(const lw_thread* t) {
  struct timespec ts;
  if (clock_gettime(t->cpu_clock, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The guest's signal for this thread's call in flight, not one meant for an earlier call. */
static int meant_for_this_call(lw_thread* t) {
  return __atomic_load_n(&t->fired_seq, __ATOMIC_ACQUIRE) == __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
}

static void* watchdog(void* arg) {
  (void)arg;
  struct timespec period = {.tv_sec = 0, .tv_nsec = WATCH_MS * 1000000L};
  for (;;) {
    nanosleep(&period, NULL);
    pthread_mutex_lock(&registry_lock);
    for (lw_thread* t = registry; t != NULL; t = t->next) {
      uint64_t seq = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
      uint64_t budget = __atomic_load_n(&t->budget_ns, __ATOMIC_ACQUIRE);
      if (budget == 0) continue;
      uint64_t cpu = cpu_ns(t);
      if (t->watched_seq != seq) { /* a call the watchdog has not seen yet: its budget counts from here */
        t->watched_seq = seq;
        t->cpu_at_watch = cpu;
        continue;
      }
      if (cpu - t->cpu_at_watch >= budget && __atomic_load_n(&t->fired_seq, __ATOMIC_RELAXED) != seq) {
        __atomic_store_n(&t->fired_seq, seq, __ATOMIC_RELEASE);
        pthread_kill(t->self, LW_SIGNAL);
      }
    }
    pthread_mutex_unlock(&registry_lock);
  }
  return NULL;
}

/* Keep this thread's stack as it is at a trap; ``exact`` is the interrupted instruction (from the
 * signal's context), or NULL where every frame is a return address (a call of lw_trap). */
static void capture(lw_thread* t, void* exact) {
  t->trace_len = backtrace(t->trace, TRACE_MAX);
  t->trace_exact = exact;
}

static void* interrupted_at(void* context) {
  return (void*)((ucontext_t*)context)->uc_mcontext.gregs[REG_RIP];
}

static void chain(int sig, siginfo_t* si, void* context) {
  struct sigaction* prev = sig == SIGSEGV ? &prev_segv : &prev_bus;
  if (prev->sa_flags & SA_SIGINFO) {
    prev->sa_sigaction(sig, si, context);
  } else if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
    sigaction(sig, prev, NULL); /* returning re-runs the faulting instruction: the default action */
  } else {
    prev->sa_handler(sig);
  }
}

static void on_fault(int sig, siginfo_t* si, void* context) {
  lw_thread* t = lw_self;
  if (t != NULL && t->state == GUEST) {
    char* at = (char*)si->si_addr;
    wasm_rt_memory_t* mem = t->current != NULL ? t->current->memory : NULL;
    if (mem != NULL && at >= (char*)mem->data && at < (char*)mem->data_end) {
      t->state = OUTSIDE;
      capture(t, interrupted_at(context));
      siglongjmp(t->jmp, WASM_RT_TRAP_OOB);
    }
    if (at >= t->stack_lo - STACK_FAULT_BELOW && at < t->stack_lo + STACK_FAULT_ABOVE) {
      t->state = OUTSIDE;
      capture(t, interrupted_at(context));
      siglongjmp(t->jmp, WASM_RT_TRAP_EXHAUSTION);
    }
  }
  chain(sig, si, context);
}

static void on_deadline(int sig, siginfo_t* si, void* context) {
  (void)sig, (void)si;
  lw_thread* t = lw_self;
  if (t == NULL || !meant_for_this_call(t)) return;
  if (t->state == GUEST) {
    t->state = OUTSIDE;
    capture(t, interrupted_at(context));
    siglongjmp(t->jmp, LW_TRAP_DEADLINE);
  }
  if (t->state == HOST) t->expired = 1;
}

static void thread_gone(void* arg) {
  lw_thread* t = arg;
  pthread_mutex_lock(&registry_lock);
  if (t->prev != NULL) t->prev->next = t->next; else registry = t->next;
  if (t->next != NULL) t->next->prev = t->prev;
  pthread_mutex_unlock(&registry_lock);
  if (t->alt_stack != NULL) {
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(t->alt_stack);
  }
  lw_self = NULL;
  free(t);
}

static int start_watchdog(void) {
  pthread_t watcher;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return -1;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* the watchdog must never run a handler: it blocks every signal it can */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int started = pthread_create(&watcher, &attr, watchdog, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return started;
}

/* A forked child has only the forking thread: the registry keeps it alone, and gets a watchdog. */
static void after_fork_in_child(void) {
  pthread_mutex_init(&registry_lock, NULL);
  registry = lw_self;
  if (lw_self != NULL) lw_self->next = lw_self->prev = NULL;
  if (lw_self != NULL) lw_self->self = pthread_self();
  if (lw_self != NULL && pthread_getcpuclockid(lw_self->self, &lw_self->cpu_clock) != 0) handlers_ok = 0;
  if (handlers_ok && start_watchdog() != 0) handlers_ok = 0;
}

static void install(void) {
  if (pthread_key_create(&thread_key, thread_gone) != 0) return;
  void* first[1];
  backtrace(first, 1); /* loads libgcc's unwinder now: a signal handler must not be the first to */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sa.sa_sigaction = on_deadline;
  if (sigaction(LW_SIGNAL, &sa, NULL) != 0) return;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sa.sa_sigaction = on_fault;
  if (sigaction(SIGSEGV, &sa, &prev_segv) != 0 || sigaction(SIGBUS, &sa, &prev_bus) != 0) return;
  if (start_watchdog() != 0 || pthread_atfork(NULL, NULL, after_fork_in_child) != 0) return;
  handlers_ok = 1;
}

/* This thread's state, set up on its first call: registered with the watchdog, alternate signal stack, stack bounds. */
static lw_thread* thread_state(void) {
  if (lw_self != NULL) return lw_self;
  pthread_once(&once, install);
  if (!handlers_ok) return NULL;
  lw_thread* t = calloc(1, sizeof *t);
  if (t == NULL) return NULL;
  t->self = pthread_self();
  if (pthread_getcpuclockid(t->self, &t->cpu_clock) != 0) {
    free(t);
    return NULL;
  }
  pthread_attr_t attr;
  void* lo = NULL;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_destroy(&attr);
  }
  t->stack_lo = lo;
  stack_t ss;
  if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE)) {
    t->alt_stack = malloc(ALT_STACK_SIZE);
    stack_t on = {.ss_sp = t->alt_stack, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    if (t->alt_stack == NULL || sigaltstack(&on, NULL) != 0) {
      free(t->alt_stack);
      free(t);
      return NULL;
    }
  }
  pthread_setspecific(thread_key, t);
  lw_self = t;
  pthread_mutex_lock(&registry_lock);
  t->next = registry;
  if (registry != NULL) registry->prev = t;
  registry = t;
  pthread_mutex_unlock(&registry_lock);
  return t;
}

/* After a jump out of a signal handler (sigsetjmp does not save the mask: that would be a syscall
 * per call), unblock the signals the handler ran with. */
static void unblock_after_trap(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, LW_SIGNAL);
  sigaddset(&set, SIGSEGV);
  sigaddset(&set, SIGBUS);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Run export (or instantiation) ``which`` of ``instance`` with a deadline; 0 or a trap code. */
LW_EXPORT int32_t lw_call(lw_instance* instance, int32_t which, const uint32_t* args, uint64_t* result,
                          uint32_t deadline_ms) {
  lw_thread* t = thread_state();
  if (t == NULL) return LW_TRAP_SETUP;
  if (t->state != OUTSIDE) return LW_TRAP_REENTRY;
  t->current = instance;
  t->expired = 0;
  __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELEASE);
  int32_t code = sigsetjmp(t->jmp, 0);
  if (code == 0) {
    uint64_t budget = (uint64_t)deadline_ms * 1000000u;
    __atomic_store_n(&t->budget_ns, budget != 0 ? budget : 1, __ATOMIC_RELEASE); /* 0 would mean no call */
    t->state = GUEST;
    instance->dispatch(instance, which, args, result);
    t->state = OUTSIDE;
  } else {
    unblock_after_trap();
  }
  __atomic_store_n(&t->budget_ns, 0, __ATOMIC_RELEASE);
  t->current = NULL;
  return code;
}

void lw_trap(wasm_rt_trap_t code) {
  lw_thread* t = lw_self;
  t->state = OUTSIDE;
  capture(t, NULL);
  siglongjmp(t->jmp, (int)code);
}

/* The native stack of this thread's last trap, innermost first, at most ``max`` frames: each an
 * address inside the instruction that trapped or made the call (a return address less one). */
LW_EXPORT int32_t lw_trace(uint64_t* out, int32_t max) {
  lw_thread* t = lw_self;
  if (t == NULL) return 0;
  int32_t n = 0;
  for (int i = 0; i < t->trace_len && n < max; i++) {
    uintptr_t pc = (uintptr_t)t->trace[i];
    out[n++] = t->trace[i] == t->trace_exact ? pc : pc - 1;
  }
  return n;
}

/* Around a call out of guest code that must not be jumped out of. */
static lw_thread* defer(void) {
  lw_thread* t = lw_self;
  t->state = HOST;
  return t;
}

static void resume(lw_thread* t) {
  t->state = GUEST;
  if (t->expired) lw_trap(LW_TRAP_DEADLINE);
}

uint64_t lw_host_call(lw_namespace* ns, int32_t index, const uint64_t* args) {
  lw_thread* t = lw_self;
  char here;
  if ((uintptr_t)&here - (uintptr_t)t->stack_lo < HOST_HEADROOM) lw_trap(WASM_RT_TRAP_EXHAUSTION);
  uint64_t result = 0;
  defer();
  int failed = ns->instance->host(index, args, &result);
  t->state = GUEST;
  if (failed) lw_trap(LW_TRAP_HOST);
  resume(t);
  return result;
}

/* A default 32-bit memory (the only kind whose accesses the translation folds, see lwaot.h): one
 * memfd mapped four times in a LW_RESERVE reservation. View A at data: the memory, then guard pages
 * to 8 GiB (wasm2c's layout; every unfolded access). View B at data + LW_FOLDED_VIEW: the memory at
 * 0, 4 GiB and 8 GiB, guard pages elsewhere, so a folded access s (a sum of at most three terms below
 * 2^32, so s < 12 GiB) reaches the byte s mod 2^32 reaches, or faults where that access is out of
 * bounds (the memory is capped below 4 GiB: a guard page at least follows each copy). The whole
 * maximum is mapped at once and only [0, size) of each copy is accessible (grow is an mprotect of
 * all four); pages never touched cost nothing. The descriptor is closed once mapped. */
#define LW_COPIES (1 + LW_MIRRORS)

static void copies(uint8_t* data, uint8_t* at[LW_COPIES]) {
  at[0] = data;
  for (int i = 0; i < LW_MIRRORS; i++) at[1 + i] = data + LW_FOLDED_VIEW + i * LW_MIRROR_AT;
}

static int is_folded_layout(const wasm_rt_memory_t* mem) {
  return mem->page_size == WASM_DEFAULT_PAGE_SIZE && !mem->is64;
}

static int protect_copies(uint8_t* data, uint64_t from, uint64_t length, int prot) {
  if (length == 0) return 0;
  uint8_t* at[LW_COPIES];
  copies(data, at);
  for (int i = 0; i < LW_COPIES; i++)
    if (mprotect(at[i] + from, length, prot) != 0) return -1;
  return 0;
}

static int map_folded(wasm_rt_memory_t* mem, uint64_t initial_pages, uint64_t max_pages) {
  uint64_t size = initial_pages * WASM_DEFAULT_PAGE_SIZE, max = max_pages * WASM_DEFAULT_PAGE_SIZE;
  if (max > LW_MIRROR_AT) return -1;
  uint8_t* data = mmap(NULL, LW_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data == MAP_FAILED) return -1;
  int fd = max == 0 ? -1 : memfd_create("layerw-aot-memory", MFD_CLOEXEC);
  int ok = max == 0 || (fd >= 0 && ftruncate(fd, (off_t)max) == 0);
  uint8_t* at[LW_COPIES];
  copies(data, at);
  for (int i = 0; ok && max != 0 && i < LW_COPIES; i++)
    ok = mmap(at[i], max, PROT_NONE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED;
  if (fd >= 0) close(fd);
  if (!ok || protect_copies(data, 0, size, PROT_READ | PROT_WRITE) != 0) {
    munmap(data, LW_RESERVE);
    return -1;
  }
  mem->data = data;
  mem->data_end = data + LW_RESERVE;
  mem->size = size;
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->is64 = false;
  mem->page_size = WASM_DEFAULT_PAGE_SIZE;
  return 0;
}

/* memory.grow's answer: the old page count, or -1 (past the maximum, or no address space left). */
static uint64_t grow(wasm_rt_memory_t* mem, uint64_t delta) {
  if (!is_folded_layout(mem)) return wasm_rt_grow_memory(mem, delta);
  uint64_t old = mem->pages;
  if (delta == 0) return old;
  if (delta > mem->max_pages || old + delta > mem->max_pages) return (uint64_t)-1;
  uint64_t size = (old + delta) * WASM_DEFAULT_PAGE_SIZE;
  if (protect_copies(mem->data, mem->size, size - mem->size, PROT_READ | PROT_WRITE) != 0) return (uint64_t)-1;
  mem->pages = old + delta;
  mem->size = size;
  return old;
}

void lw_allocate_memory(wasm_rt_memory_t* mem, uint64_t initial_pages, uint64_t max_pages, bool is64,
                        uint32_t page_size) {
  lw_instance* instance = lw_self->current;
  if (++instance->memories > 1) lw_trap(LW_TRAP_MEMORY_COUNT);
  uint64_t cap = instance->cap_pages * (WASM_DEFAULT_PAGE_SIZE / page_size);
  if (initial_pages > cap) lw_trap(LW_TRAP_INITIAL_MEMORY);
  uint64_t max = max_pages < cap ? max_pages : cap;
  lw_thread* t = defer();
  if (page_size == WASM_DEFAULT_PAGE_SIZE && !is64) {
    if (map_folded(mem, initial_pages, max) != 0) abort(); /* as wasm2c's allocator does when mmap fails */
  } else {
    wasm_rt_allocate_memory(mem, initial_pages, max, is64, page_size);
  }
  instance->memory = mem;
  resume(t);
}

uint64_t lw_grow_memory(wasm_rt_memory_t* mem, uint64_t pages) {
  lw_thread* t = defer();
  uint64_t old = grow(mem, pages);
  resume(t);
  return old;
}

/* Grow from the host, outside any guest call (restoring a larger snapshot). */
LW_EXPORT uint64_t lw_memory_grow(wasm_rt_memory_t* mem, uint64_t pages) {
  return grow(mem, pages);
}

void lw_free_memory(wasm_rt_memory_t* mem) {
  if (mem->data == NULL) return;
  if (is_folded_layout(mem)) {
    munmap(mem->data, LW_RESERVE);
    mem->data = NULL;
  } else {
    wasm_rt_free_memory(mem);
  }
}

static uint32_t table_max(lw_instance* instance, uint32_t elements, uint32_t max_elements) {
  if (++instance->tables > instance->max_tables) lw_trap(LW_TRAP_TABLE_COUNT);
  if (elements > instance->max_table_elements) lw_trap(LW_TRAP_TABLE_SIZE);
  return max_elements < instance->max_table_elements ? max_elements : instance->max_table_elements;
}

void lw_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements, uint32_t max_elements) {
  uint32_t max = table_max(lw_self->current, elements, max_elements);
  lw_thread* t = defer();
  wasm_rt_allocate_funcref_table(table, elements, max);
  resume(t);
}

void lw_allocate_externref_table(wasm_rt_externref_table_t* table, uint32_t elements, uint32_t max_elements) {
  uint32_t max = table_max(lw_self->current, elements, max_elements);
  lw_thread* t = defer();
  wasm_rt_allocate_externref_table(table, elements, max);
  resume(t);
}

uint32_t lw_grow_funcref_table(wasm_rt_funcref_table_t* table, uint32_t delta, wasm_rt_funcref_t init) {
  lw_thread* t = defer();
  uint32_t old = wasm_rt_grow_funcref_table(table, delta, init);
  resume(t);
  return old;
}

uint32_t lw_grow_externref_table(wasm_rt_externref_table_t* table, uint32_t delta, wasm_rt_externref_t init) {
  lw_thread* t = defer();
  uint32_t old = wasm_rt_grow_externref_table(table, delta, init);
  resume(t);
  return old;
}
