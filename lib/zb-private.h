/* libzerobuffer internals shared by the reader and the writer.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef ZB_PRIVATE_H
#define ZB_PRIVATE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zerobuffer/zerobuffer.h"

/* The operation info exchange block at offset 0 of the shared memory.  Every
 * field may be changed by the peer at any time, so all are atomics and are
 * read once into locals before use. */
typedef struct zb_oieb
{
  _Atomic uint32_t oieb_size;           /* 0x00 */
  uint8_t version[4];                   /* 0x04 major, minor, patch, 0 */
  _Atomic uint64_t metadata_size;       /* 0x08 */
  _Atomic uint64_t metadata_free_bytes; /* 0x10 */
  _Atomic uint64_t metadata_written_bytes;      /* 0x18 */
  _Atomic uint64_t payload_size;        /* 0x20 */
  _Atomic uint64_t payload_free_bytes;  /* 0x28 */
  _Atomic uint64_t payload_write_pos;   /* 0x30 */
  _Atomic uint64_t payload_read_pos;    /* 0x38 */
  _Atomic uint64_t payload_written_count;       /* 0x40 */
  _Atomic uint64_t payload_read_count;  /* 0x48 */
  _Atomic uint64_t writer_pid;          /* 0x50 */
  _Atomic uint64_t reader_pid;          /* 0x58 */
  uint64_t reserved[4];                 /* 0x60 */
} zb_oieb;

_Static_assert (sizeof (zb_oieb) == ZB_OIEB_SIZE, "OIEB is 128 bytes");
_Static_assert (offsetof (zb_oieb, version) == 0x04, "version offset");
_Static_assert (offsetof (zb_oieb, metadata_size) == 0x08, "offset");
_Static_assert (offsetof (zb_oieb, metadata_free_bytes) == 0x10, "offset");
_Static_assert (offsetof (zb_oieb, metadata_written_bytes) == 0x18, "offset");
_Static_assert (offsetof (zb_oieb, payload_size) == 0x20, "offset");
_Static_assert (offsetof (zb_oieb, payload_free_bytes) == 0x28, "offset");
_Static_assert (offsetof (zb_oieb, payload_write_pos) == 0x30, "offset");
_Static_assert (offsetof (zb_oieb, payload_read_pos) == 0x38, "offset");
_Static_assert (offsetof (zb_oieb, payload_written_count) == 0x40, "offset");
_Static_assert (offsetof (zb_oieb, payload_read_count) == 0x48, "offset");
_Static_assert (offsetof (zb_oieb, writer_pid) == 0x50, "offset");
_Static_assert (offsetof (zb_oieb, reader_pid) == 0x58, "offset");
_Static_assert (sizeof (_Atomic uint64_t) == 8, "lock-free u64 atomics");

/* Frame header {payload_size, sequence_number}; may sit at any byte offset,
 * so it is always copied with memcpy. */
typedef struct zb_frame_header
{
  uint64_t payload_size;
  uint64_t sequence_number;
} zb_frame_header;

_Static_assert (sizeof (zb_frame_header) == ZB_FRAME_HEADER_SIZE,
    "frame header is 16 bytes");

/* OFD lock bytes on the shared-memory object: one per role.  They vanish
 * with the process and work across PID namespaces (quirk 6). */
#define ZB_LOCK_BYTE_READER 0
#define ZB_LOCK_BYTE_WRITER 1

/* Longest a blocked call sleeps before re-checking the peer: bounds the
 * detection of a silent close (quirk 8) and of a crash. */
#define ZB_WAIT_SLICE_MS 100
/* How often a busy writer probes a reader it never has to wait for. */
#define ZB_PROBE_INTERVAL_MS 100

#define ZB_LOAD(p) atomic_load_explicit ((p), memory_order_acquire)
#define ZB_LOAD_RELAXED(p) atomic_load_explicit ((p), memory_order_relaxed)
#define ZB_STORE(p, v) atomic_store_explicit ((p), (v), memory_order_release)

/* Longest error detail kept, with its terminating NUL. */
#define ZB_ERROR_MAX 512

/* Records the detail for zb_last_error() and returns code. */
int zb_fail (int code, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Same, appending strerror(err). */
int zb_fail_errno (int code, int err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Empties this thread's detail: the first thing every public call that can
 * fail does, so that a success leaves zb_last_error() == "". */
void zb_clear_error (void);

/* The detail of the last failed call on one reader or writer, shared by
 * every thread that uses the object.  A success only takes the lock when
 * there is something to clear. */
typedef struct
{
  pthread_mutex_t lock;
  _Atomic int set;              /* text is not empty */
  char text[ZB_ERROR_MAX];
} zb_error_box;

void zb_error_box_init (zb_error_box * box);
void zb_error_box_destroy (zb_error_box * box);
/* Ends a public call on the object: on failure (rc < 0) the calling
 * thread's detail is copied into the box, on success the box is emptied.
 * Returns rc. */
int zb_error_box_note (zb_error_box * box, int rc);
/* Copies the box's text into out (ZB_ERROR_MAX bytes) under its lock. */
const char *zb_error_box_copy (zb_error_box * box, char *out);

/* Rounds up to a multiple of 64; saturates at UINT64_MAX. */
uint64_t zb_round_up_64 (uint64_t v);
int64_t zb_now_ms (void);
int64_t zb_now_ns (void);
/* Deadline helpers: timeout_ms < 0 means none. */
int64_t zb_deadline (int timeout_ms);
/* Milliseconds left (>= 0), or -1 when there is no deadline. */
int64_t zb_remaining (int64_t deadline);

/* Whether an optional wait keeps paying off: the share of recent tries
 * that did (0..1024, moved by 1/16 a try).  Below half, the caller skips
 * it for 64 chances, then 128, ... up to 4096; above 7/8 the next pause
 * is short again. */
typedef struct
{
  int rate;
  int off;                      /* chances left to skip */
  int backoff;                  /* off after the next failure */
} zb_trial;

void zb_trial_init (zb_trial * t);
/* Whether to try this time (counts a skipped chance down). */
int zb_trial_now (zb_trial * t);
void zb_trial_note (zb_trial * t, int ok);

/* How often frames pass, to decide whether waiting for the next one is
 * worth a short spin: waking a sleeping peer costs a syscall on each side
 * and tens of µs, but spinning through a long gap only burns CPU. */
typedef struct
{
  int64_t spin_ns;              /* the object's budget; 0 = never spin */
  int64_t last_ns;              /* previous frame, 0 before the first */
  int64_t gap_ns;               /* moving average of the gaps */
  int64_t dev_ns;               /* moving average of |gap - gap_ns| */
  /* A reader's wake before a due frame (see zb_pace_wake_at()). */
  int64_t lead_ns;              /* how early to wake for a due frame */
  zb_trial wake;                /* whether those wakes come in time */
  int64_t wake_ns;              /* how late a timed sleep ends, average */
} zb_pace;

/* Largest spin_us option honoured; larger values count as this. */
#define ZB_SPIN_US_MAX 10000u

/* The budget in ns for a spin_us option: clamped to ZB_SPIN_US_MAX, and 0
 * on a machine with one CPU, where the peer cannot run while we spin. */
int64_t zb_spin_budget_ns (unsigned int spin_us);

/* Note that a frame passed now, or a wake-up ago if woken (not polled)
 * for it.  Reads no clock when spinning is off. */
void zb_pace_note (zb_pace * pace, int woken);

/* A timed sleep ended late_ns after its time: the wake-up's cost. */
void zb_pace_woke_late (zb_pace * pace, int64_t late_ns);

/* Polls *word until it differs from seen, *stop becomes non-zero or the
 * spin budget (pace->spin_ns, from the object's options; default 0: off)
 * runs out, and nothing at all unless frames have lately come closer
 * together than that.  Off by default because a spinning reader takes the
 * CPU a multi-threaded writer needs when cores are few (measured on 2
 * vCPUs: 4 KB frames 1.8-2.1x shm with 50 µs, 2.7-3.2x without).
 * Returns 1 if the word changed. */
int zb_spin_for_change (const zb_pace * pace, _Atomic uint64_t * word,
    uint64_t seen, _Atomic int *stop);

/* Timer slack of a thread that sleeps until a frame is due, so that it
 * wakes in time (the default 50 µs would make it wake late). */
#define ZB_TIMER_SLACK_NS 1000

/* Steps of zb_pace.lead_ns after a frame that came before the reader
 * woke for it (earlier), and after any other (later): the lead settles
 * where about one frame in ten comes early. */
#define ZB_LEAD_UP_NS 9000
#define ZB_LEAD_DOWN_NS 1000

/* Sets up the lead of a reader's pace, after spin_ns. */
void zb_pace_init_lead (zb_pace * pace);

/* The largest lead_ns: eight spin budgets, which bounds the CPU one
 * predicted frame may cost. */
int64_t zb_pace_lead_max (const zb_pace * pace);

/* How long past its due time a reader polls for a frame: twice the
 * gaps' deviation, within two spin budgets and zb_pace_lead_max(). */
int64_t zb_pace_past (const zb_pace * pace);

/* When a reader waiting for the next frame of a regular stream should
 * wake to poll for it (CLOCK_MONOTONIC ns), or 0: not predictable. */
int64_t zb_pace_wake_at (const zb_pace * pace);

/* How a wake at zb_pace_wake_at() went: the frame came while polling
 * (MET), before the wake (EARLY) or not within the poll (LATE).  Moves
 * the lead, and turns the wake off for a while (64 frames, doubling to
 * 4096) when fewer than half came in time. */
enum
{ ZB_PACE_MET, ZB_PACE_EARLY, ZB_PACE_LATE };
void zb_pace_outcome (zb_pace * pace, int outcome);

/* Lowers the calling thread's timer slack to ZB_TIMER_SLACK_NS, once per
 * thread (Linux; nothing elsewhere). */
void zb_timer_slack_low (void);

/* A pause between two polls of shared memory. */
static inline void
zb_cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

/* Polls *word as zb_spin_for_change() does, until the clock reaches end. */
int zb_spin_until (_Atomic uint64_t * word, uint64_t seen, _Atomic int *stop,
    int64_t end);

/* Wait on sem until the CLOCK_MONOTONIC time at_ns; as zb_sem_wait_ms. */
int zb_sem_wait_until (sem_t * sem, int64_t at_ns);

/* Wait up to ms on sem; 0 when a count was taken, -1 otherwise. */
int zb_sem_wait_ms (sem_t * sem, int64_t ms);
void zb_sleep_ms (int64_t ms);

/* sem_open() and sem_close() under one lock of ours (see zb-common.c). */
sem_t *zb_sem_open (const char *name, int oflag, unsigned int mode,
    unsigned int value);
void zb_sem_close (sem_t * sem);

/* Names of the kernel objects for buffer name. */
void zb_sem_name (char *out, size_t len, char role, const char *name);
void zb_sem_path (char *out, size_t len, char role, const char *name);
void zb_lock_path (char *out, size_t len, const char *name);

/* OFD locks: take (0 / -errno) and probe (1 held by someone else, 0 free,
 * -1 unknown). */
int zb_ofd_lock (int fd, int byte);
int zb_ofd_probe (int fd, int byte);

/* Copy the metadata of a buffer (block meta of M bytes) out of shared
 * memory after checking its length against what the header says was
 * written.  Replaces *copy (freeing the old one); ZB_ENOMETA if none. */
int zb_copy_metadata (const char *name, zb_oieb * oieb, const uint8_t * meta,
    uint64_t M, void **copy, size_t * size);

/* Is the peer whose pid was read from *pid_field still alive?  Uses the
 * role's OFD lock when the peer is one of ours (remembered in *had_lock),
 * kill(pid, 0) for upstream peers.  A pid field that changed meanwhile
 * counts as alive: the caller re-reads it. */
int zb_peer_alive (int fd, int byte, _Atomic uint64_t * pid_field,
    uint64_t pid, int *had_lock);

/* A zombie (killed, not yet reaped) still answers kill(pid, 0). */
int zb_pid_is_zombie (pid_t pid);

/* Inspection without a mapping (zb-common.c): open /dev/shm/NAME read-only
 * (regular files only, never blocking), and copy its header with pread(). */
typedef struct
{
  uint8_t b[ZB_OIEB_SIZE];
} zb_oieb_raw;

struct stat;
int zb_inspect_open (const char *name, int *fd, struct stat *st);
int zb_read_oieb (const char *name, int fd, zb_oieb_raw * raw);
uint64_t zb_raw_u64 (const zb_oieb_raw * raw, size_t off);
/* 1 if raw is a v1 header (size 128, major version 1) whose blocks fit an
 * object of object_size bytes. */
int zb_raw_is_v1 (const zb_oieb_raw * raw, uint64_t object_size);

/* Stale buffers (zb-clean.c). */
/* Write the mark that ties the reader's lock file to its shared-memory
 * object (shm_fd) and pid: what lets anyone tell later, whatever PID
 * namespace they are in, that free locks mean this reader died.  Best
 * effort: a lock file without it is only never cleaned by others. */
void zb_lock_mark (int lock_fd, int shm_fd);
/* Remove the stale buffers of other names (the rule of zb_clean_stale()
 * without ZB_CLEAN_UNMARKED), skipping skip_name.  Never fails and leaves
 * this thread's error detail as it was. */
void zb_clean_others (const char *skip_name);

/* For the duplex channel: the peer of a writer (its reader) or of a
 * reader (its writer) as a zb_peer_state, with its pid in *pid.  They read
 * only what never changes while the object is open and the shared pid
 * word, so any thread may call them; *had_lock is the caller's own memory
 * of having seen the peer's lock (see zb_peer_alive).  A dead reader's
 * objects are removed, as the writer does when it finds one. */
int zb_writer_probe_reader (zb_writer * w, uint64_t * pid, int *had_lock);
int zb_reader_probe_writer (zb_reader * r, uint64_t * pid, int *had_lock);

#endif /* ZB_PRIVATE_H */
