/* libzerobuffer — the ZeroBuffer v1 shared-memory ring protocol in C11.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One buffer NAME is a shared-memory ring created by a *reader* and written by
 * at most one *writer* in another process.  The reader owns every kernel object
 * (shared memory, two semaphores, a lock file) and removes them on close; the
 * writer only connects.  See docs/protocol.md for the wire layout and
 * docs/library.md for a guide with examples.
 *
 * Conventions:
 *  - Every function that can fail returns 0 (ZB_OK) or a negative zb_status.
 *    zb_strerror() names the code.  The detail (buffer name, errno text, the
 *    offending value) is kept per object: zb_reader_last_error() and
 *    zb_writer_last_error() give the most recent failure of a call on that
 *    object, whichever thread made it, so no caller has to carry details
 *    across threads.  zb_last_error() gives the most recent failure in the
 *    calling thread (the only place for calls that make no object, such as
 *    zb_reader_create() and zb_writer_open()).  A call that succeeds clears
 *    both; calls that cannot fail (stats, names, getters) change neither.
 *  - timeout_ms: -1 waits forever, 0 does not wait, > 0 is a bound.
 *  - Objects are not thread-safe except where noted: zb_reader_release(),
 *    the *_interrupt() and *_last_error() calls may be used from any thread
 *    at any time, and zb_writer_abandon() alongside any call but close.
 *  - The library reads no environment; settings come through options.
 */
#ifndef ZEROBUFFER_H
#define ZEROBUFFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(ZB_BUILDING_LIBRARY)
#define ZB_API __attribute__ ((visibility ("default")))
#else
#define ZB_API
#endif

/* Protocol constants (ZeroBuffer v1). */
#define ZB_OIEB_SIZE 128u
#define ZB_FRAME_HEADER_SIZE 16u
#define ZB_BLOCK_ALIGN 64u
#define ZB_NAME_MAX 200u        /* longest accepted buffer name */
#define ZB_LOCK_DIR "/tmp/zerobuffer"

/* X-macro: one table gives the codes, their names and their messages. */
#define ZB_STATUS_MAP(XX)                                                     \
  XX (OK, 0, "success")                                                       \
  XX (EINVAL, -1, "invalid argument")                                         \
  XX (EBADNAME, -2, "invalid buffer name")                                    \
  XX (ENOTFOUND, -3, "no such buffer")                                        \
  XX (ENOREADER, -4, "no live reader on this buffer")                         \
  XX (EWRITERBUSY, -5, "another writer is attached to this buffer")           \
  XX (EEXIST, -6, "a live reader already owns this buffer name")              \
  XX (EVERSION, -7, "incompatible buffer header (OIEB size or version)")      \
  XX (ECORRUPT, -8, "corrupt shared state")                                   \
  XX (ETIMEDOUT, -9, "timed out")                                             \
  XX (EOS, -10, "end of stream: the writer closed and every frame was read")  \
  XX (EWRITERGONE, -11, "the writer died")                                    \
  XX (EREADERGONE, -12, "the reader is gone")                                 \
  XX (ETOOLARGE, -13, "frame cannot be placed in this ring")                  \
  XX (EMETAWRITTEN, -14, "metadata was already written")                      \
  XX (EMETATOOLARGE, -15, "metadata larger than the metadata block")          \
  XX (ENOSPC, -16, "not enough shared memory (/dev/shm too small)")           \
  XX (EPERM, -17, "permission denied")                                        \
  XX (ECANCELED, -18, "wait interrupted")                                     \
  XX (ENOMETA, -19, "no metadata written yet")                                \
  XX (EBUSY, -20, "operation not allowed in the current state")               \
  XX (ENOMEM, -21, "out of memory")                                           \
  XX (ESYS, -22, "system error")                                              \
  XX (ENOATTACH, -23, "the duplex server did not attach to the response "     \
      "buffer")                                                               \
  XX (ESERVERGONE, -24, "the duplex server is gone")

typedef enum
{
#define ZB_XX_ENUM(name, value, msg) ZB_##name = value,
  ZB_STATUS_MAP (ZB_XX_ENUM)
#undef ZB_XX_ENUM
} zb_status;

/* Fixed message of a status code ("invalid buffer name"); never NULL. */
ZB_API const char *zb_strerror (int status);
/* Symbolic name of a status code ("ZB_EBADNAME"); never NULL. */
ZB_API const char *zb_status_name (int status);
/* Detail of the most recent failure in this thread, e.g.
 * "cam1: reader pid 4242 is gone".  Never NULL; "" when none or when this
 * thread's last call succeeded. */
ZB_API const char *zb_last_error (void);

/* 0 if NAME is acceptable: 1..ZB_NAME_MAX bytes of [A-Za-z0-9._-], not
 * starting with '.'.  Otherwise ZB_EBADNAME.  Nothing is touched. */
ZB_API int zb_validate_name (const char *name);

/* Wire arithmetic the callers need, so that none repeats it. */
/* Ring bytes one frame of size payload bytes takes: its header + payload. */
ZB_API uint64_t zb_frame_footprint (uint64_t size);
/* Smallest payload size in which a frame of size bytes can be placed from
 * any write position (2 * footprint + 15): the inverse of
 * zb_writer_max_frame_size(), and the free room a writer may need for its
 * next frame of that size after a wrap. */
ZB_API uint64_t zb_ring_size_for_frame (uint64_t size);
/* Smallest payload size in which count frames of size bytes can all be
 * written, unread, from any write position: (count + 1) * footprint + 15
 * (count 1, and 0, is zb_ring_size_for_frame()).  Sizes a duplex response
 * ring for count responses in flight. */
ZB_API uint64_t zb_ring_size_for_frames (uint64_t size, uint64_t count);
/* Size of the shared-memory object of a buffer with these block sizes
 * (each rounded up to 64 as zb_reader_create() does), header included. */
ZB_API uint64_t zb_mapping_size (uint64_t metadata_size,
    uint64_t payload_size);

/* Parse "4096", "64K", "16M", "1G" (binary multiples, optional trailing 'B'
 * or 'iB') into *out.  Returns 0 or ZB_EINVAL. */
ZB_API int zb_parse_size (const char *text, uint64_t *out);

/* ------------------------------------------------------------------ */
/* Reader: creates the buffer, reads frames in place.                  */

typedef struct zb_reader zb_reader;

/* A frame handed out by zb_reader_acquire().  data points into the ring and
 * stays valid (and is never overwritten by the writer) until the frame is
 * released.  Frames may be released in any order, from any thread. */
typedef struct zb_frame
{
  const void *data;
  size_t size;
  uint64_t sequence;
  uint64_t ticket;              /* private to the library */
} zb_frame;

typedef struct zb_reader_options
{
  uint64_t metadata_size;       /* rounded up to 64; 0 is allowed */
  uint64_t payload_size;        /* rounded up to 64; must be > 0 */
  unsigned int mode;            /* permissions of every object; 0 = 0600 */
  unsigned int spin_us;         /* poll this long before sleeping for a
                                 * frame when frames come this close
                                 * together, and for regular slower
                                 * streams wake shortly before a frame
                                 * is due to poll for it (lowers the
                                 * calling thread's timer slack to 1 µs,
                                 * Linux); 0 = never spin (default); at
                                 * most 10000; none on one CPU */
  unsigned int allow_sequence_gaps;     /* accept a frame numbered above
                                         * the next one expected (a writer
                                         * that used up numbers without
                                         * publishing them, as upstream C#
                                         * and C++ writers do when a
                                         * handler gives up an acquired
                                         * frame); counted in the stats.
                                         * 0 (default): ZB_ECORRUPT */
} zb_reader_options;

/* Create buffer NAME.  Stale leftovers of a dead reader under the same name
 * are removed first; a live reader gives ZB_EEXIST.  Shared-memory pages are
 * reserved up front, so a too-small /dev/shm is ZB_ENOSPC here. */
ZB_API int zb_reader_create (zb_reader ** out, const char *name,
    const zb_reader_options * options);

/* Wait until a writer has attached (or has already written something). */
ZB_API int zb_reader_wait_writer (zb_reader * r, int timeout_ms);

/* The metadata the writer wrote, without its length prefix.  The bytes are a
 * private copy, valid until the next call or close.  ZB_ENOMETA if none. */
ZB_API int zb_reader_get_metadata (zb_reader * r, const void **data,
    size_t * size);

/* Next frame, zero-copy.  Returns 0, ZB_ETIMEDOUT, ZB_EOS (clean close and
 * all read, also for a writer that only wrote metadata; also once when a
 * new writer restarts at sequence 1 before the previous writer's end was
 * seen — the next call returns its first frame), ZB_EWRITERGONE (writer
 * died with nothing left to read), ZB_ECORRUPT (e.g. published bytes that
 * end inside a frame), ZB_ECANCELED (interrupted) or ZB_ESYS. */
ZB_API int zb_reader_acquire (zb_reader * r, zb_frame * frame, int timeout_ms);

/* Give a frame back.  Any order, any thread, also after zb_reader_close(). */
ZB_API int zb_reader_release (zb_reader * r, const zb_frame * frame);

/* Make zb_reader_acquire() and zb_reader_wait_writer() return ZB_ECANCELED
 * at once (on != 0), even with a frame ready, until cleared (on == 0).  Any
 * thread. */
ZB_API void zb_reader_interrupt (zb_reader * r, int on);

/* Remove every object of the buffer.  Frames still held stay readable until
 * released; the last release frees the reader.  NULL is ignored. */
ZB_API void zb_reader_close (zb_reader * r);

typedef struct zb_reader_stats
{
  uint64_t frames;              /* frames acquired */
  uint64_t bytes;               /* payload bytes acquired */
  uint64_t held;                /* frames acquired and not yet released */
  uint64_t held_bytes;          /* ring bytes not yet returned to the writer */
  uint64_t payload_size;        /* P */
  uint64_t metadata_size;       /* M */
  uint64_t free_bytes;          /* payload_free_bytes as last seen */
  uint64_t sequence_gaps;       /* jumps accepted (allow_sequence_gaps) */
  /* Of held_bytes, wrap tails already read past but not yet returned:
   * space goes back in ring order, so a tail waits for the frames before
   * it.  Skipped space, no frame: a backlog gauge leaves it out (after an
   * early wrap of compact placement it is most of the ring). */
  uint64_t held_tail_bytes;
  /* Frames that arrived while the reader polled for them (spin_us): the
   * writer found no sleeper to wake. */
  uint64_t frames_polled;
} zb_reader_stats;

ZB_API void zb_reader_get_stats (zb_reader * r, zb_reader_stats * stats);
ZB_API const char *zb_reader_name (const zb_reader * r);
/* Detail of the most recent failed call on r, from any thread; "" when the
 * last call succeeded.  The text is copied to thread-local storage under
 * the reader's lock, so it stays valid in this thread until its next call
 * of a zb_*_last_error(). */
ZB_API const char *zb_reader_last_error (zb_reader * r);

/* ------------------------------------------------------------------ */
/* Writer: connects to a buffer a reader created.                      */

typedef struct zb_writer zb_writer;

typedef struct zb_writer_options
{
  unsigned int spin_us;         /* poll this long for ring space before
                                 * sleeping; 0 = never spin (default);
                                 * at most 10000; none on one CPU */
  /* Compact placement: 0 (default) places frames one after another all
   * around the ring.  N > 0: a frame that would start at offset N or
   * later goes to the ring's start instead (behind a wrap marker, as any
   * wrap) when the reader has freed that start and is no more than N
   * bytes behind.  A reader that keeps up then finds every frame within
   * the first N bytes plus one frame, memory that stays in the caches;
   * a reader that falls behind gets the whole ring as before.  Still v1:
   * every reader follows wrap markers.  The cost: the bytes skipped at
   * the end count as used until the reader passes the marker, so a reader
   * that stalls just after an early wrap, holding the frame before the
   * marker, leaves the writer room for as little as one frame (not the
   * whole ring) until it reads on.  So a wait of more than 2 ms for that
   * room, or a write or reservation that times out sooner waiting for it
   * (timeout 0: a writer that drops, or tries before it copies), pauses
   * early wraps: 1 s after the first such stall, twice as long after each
   * later one, up to 64 s (zb_writer_stats.compact_stalls counts them;
   * calls that meet the same stall while paused count once). */
  uint64_t compact_bytes;
} zb_writer_options;

/* Connect to NAME.  Until timeout_ms passes, a buffer that does not exist
 * yet, is half-made, or has no live reader is waited for; after it the error
 * says which (ZB_ENOTFOUND, ZB_ENOREADER).  Refused at once: ZB_EBADNAME,
 * ZB_EWRITERBUSY, ZB_EVERSION, ZB_ECORRUPT (mapping smaller than claimed),
 * ZB_EPERM. */
ZB_API int zb_writer_open (zb_writer ** out, const char *name, int timeout_ms);
/* The same with options; NULL options are the defaults. */
ZB_API int zb_writer_open_with_options (zb_writer ** out, const char *name,
    int timeout_ms, const zb_writer_options * options);

/* Write the metadata; once per buffer (ZB_EMETAWRITTEN after that). */
ZB_API int zb_writer_set_metadata (zb_writer * w, const void *data,
    size_t size);
/* 1 if the buffer already holds metadata (from us or an earlier writer). */
ZB_API int zb_writer_has_metadata (zb_writer * w);
/* The metadata already in the buffer, without its length prefix: a private
 * copy valid until the next call or close.  ZB_ENOMETA if none. */
ZB_API int zb_writer_get_metadata (zb_writer * w, const void **data,
    size_t * size);

/* Copy one frame of size > 0 into the ring.  Waits for space up to timeout_ms
 * while the reader lives: ZB_ETIMEDOUT, ZB_EREADERGONE, ZB_ECANCELED.  A frame
 * that can never fit is ZB_ETOOLARGE at once. */
ZB_API int zb_writer_write (zb_writer * w, const void *data, size_t size,
    int timeout_ms);

/* Zero-copy: reserve room for a frame of up to size bytes and get a pointer
 * to its payload in the ring.  One reservation at a time (ZB_EBUSY).  Waits
 * like zb_writer_write(). */
ZB_API int zb_writer_reserve (zb_writer * w, size_t size, void **payload,
    int timeout_ms);
/* Publish the reserved frame with its final size (1..reserved size).  In
 * one rare case (a reservation ending exactly at the ring's end, shrunk by
 * 1..15 bytes) the frame must be placed again and the commit can wait, up
 * to the reserve's timeout, and fail like zb_writer_write(). */
ZB_API int zb_writer_commit (zb_writer * w, size_t size);
/* Drop the reservation; nothing is published.  Safe from any thread,
 * concurrently with any other call on w but zb_writer_close() (a commit of
 * the same reservation must be ordered by the caller; if they race, exactly
 * one succeeds); ZB_EBUSY when nothing is reserved. */
ZB_API int zb_writer_abandon (zb_writer * w);

/* Largest payload accepted: a frame this big can be placed from any write
 * position (zb_ring_size_for_frame(size) <= payload size), so it never
 * stalls; 0 when no frame fits.  Larger frames get ZB_ETOOLARGE at once. */
ZB_API size_t zb_writer_max_frame_size (const zb_writer * w);

/* Change zb_writer_options.compact_bytes (0: off) from the next frame
 * on, e.g. once the frame size is known.  The writing thread only. */
ZB_API void zb_writer_set_compact (zb_writer * w, uint64_t compact_bytes);

/* Make writes and reservations that would wait for space return
 * ZB_ECANCELED at once until cleared; ones that need no wait go through.
 * Any thread. */
ZB_API void zb_writer_interrupt (zb_writer * w, int on);

/* Detach: the reader sees end of stream after the last frame.  NULL ignored. */
ZB_API void zb_writer_close (zb_writer * w);

typedef struct zb_writer_stats
{
  uint64_t frames;              /* frames committed */
  uint64_t bytes;               /* payload bytes committed */
  uint64_t wraps;               /* times the ring wrapped */
  uint64_t payload_size;        /* P */
  uint64_t metadata_size;       /* M */
  uint64_t free_bytes;          /* payload_free_bytes as last seen */
  uint64_t early_wraps;         /* wraps made by compact placement */
  /* Of the bytes free_bytes counts as used, those of the last wrap's tail
   * while the reader has not yet given it back: skipped space, no frame.
   * free_bytes + unread_tail is the room once the reader catches up; a
   * gauge of how far behind the reader is should use it (an early wrap of
   * compact placement otherwise shows an up-to-date reader as a full ring). */
  uint64_t unread_tail;
  /* Times the writer waited more than 2 ms for room an early wrap had
   * given up, or timed out sooner waiting for it; each pauses compact
   * placement (1 s, doubling up to 64 s). */
  uint64_t compact_stalls;
  /* Frames compact placement put at the start again because the reader
   * gave back the one there within a short wait (hot memory reused). */
  uint64_t reuses;
} zb_writer_stats;

ZB_API void zb_writer_get_stats (zb_writer * w, zb_writer_stats * stats);
ZB_API const char *zb_writer_name (const zb_writer * w);
/* Like zb_reader_last_error().  Once the reader is gone every write,
 * reserve, commit and set_metadata fails with ZB_EREADERGONE and the
 * detail says how it left, as first seen: "NAME: the reader closed",
 * "... died" or "... changed". */
ZB_API const char *zb_writer_last_error (zb_writer * w);

/* ------------------------------------------------------------------ */
/* Inspection, for tools: a snapshot of a buffer's header.             */

typedef enum
{
  ZB_PEER_NONE = 0,             /* pid field is 0 */
  ZB_PEER_ALIVE = 1,
  ZB_PEER_DEAD = 2
} zb_peer_state;

typedef struct zb_info
{
  uint32_t oieb_size;
  uint8_t version[4];
  uint64_t metadata_size, metadata_free_bytes, metadata_written_bytes;
  uint64_t payload_size, payload_free_bytes, payload_write_pos,
      payload_read_pos, payload_written_count, payload_read_count;
  uint64_t writer_pid, reader_pid;
  zb_peer_state writer_state, reader_state;
  uint64_t mapping_size;        /* size of the shared-memory object */
} zb_info;

/* Read NAME's header without attaching as reader or writer.  Reads with
 * pread() (no mapping: an object that shrinks meanwhile cannot crash the
 * caller) and opens only regular files, read-only, without blocking; it
 * creates and changes nothing. */
ZB_API int zb_inspect (const char *name, zb_info * info);

/* NAME's metadata without attaching, as zb_inspect() reads: the writer's
 * bytes without their length prefix.  Up to size bytes are copied to buf
 * and *len is set to the whole length (so a caller with a small buf knows
 * it was cut).  ZB_ENOMETA when none was written yet, ZB_EVERSION when
 * NAME is not a v1 buffer whose blocks fit its object, ZB_ECORRUPT when
 * the written length does not fit the metadata block. */
ZB_API int zb_inspect_metadata (const char *name, void *buf, size_t size,
    size_t * len);

/* ------------------------------------------------------------------ */
/* Stale buffers: what readers that died left behind.                  */
/*
 * A reader that dies (SIGKILL, or a SIGTERM it does not catch) cannot
 * remove its four objects.  A buffer is stale, and removed, only when all
 * of these hold (docs/library.md, "Stale buffers", has the reasons):
 *  - its header is a valid v1 header (a buffer being created has none);
 *  - nobody holds its OFD locks (no reader or writer of ours);
 *  - its writer pid, if any, is not a live process that maps the buffer;
 *  - its lock file ZB_LOCK_DIR/NAME.lock exists and is free (taken with
 *    flock while examining it, as a starting reader does), and it carries
 *    the mark our readers write, naming this very object: so its reader
 *    was ours and is dead, whatever PID namespace it lived in.
 * With ZB_CLEAN_UNMARKED, buffers that fail only the last rule (an
 * upstream reader's lock file, or none here) are stale too when a look at
 * every process of the host finds none that maps or holds the object;
 * that needs the host's initial PID namespace and every /proc/PID readable
 * (root), and otherwise they are kept.  A pid alone is never trusted: it
 * may come from another PID namespace.
 * zb_reader_create() removes the stale buffers of every name this way
 * (without ZB_CLEAN_UNMARKED) before it makes its own.
 */
typedef struct zb_stale_info
{
  char name[ZB_NAME_MAX + 1];
  int stale;                    /* 1: the rule says it may be removed */
  int removed;                  /* 1: this call removed it */
  int status;                   /* ZB_OK, or why removing it failed */
  char reason[256];             /* one line: why it is (not) stale */
} zb_stale_info;

#define ZB_CLEAN_DRY_RUN 1u     /* decide only, remove nothing */
#define ZB_CLEAN_UNMARKED 2u    /* also prove unmarked buffers unused */

/* Examine buffer NAME and remove it if stale (not with ZB_CLEAN_DRY_RUN).
 * Returns 1 stale, 0 kept (info->reason says why; info->status says why a
 * removal failed), or ZB_EBADNAME, ZB_ENOTFOUND (no such object, or not a
 * v1 buffer), ZB_EPERM (not readable).  Detail in zb_last_error(). */
ZB_API int zb_clean_buffer (const char *name, unsigned int flags,
    zb_stale_info * info);

/* Called for each buffer zb_clean_stale() examines, stale or not. */
typedef void (*zb_clean_fn) (const zb_stale_info * info, void *user);

/* Examine every buffer in /dev/shm, removing the stale ones (not with
 * ZB_CLEAN_DRY_RUN); objects that are not v1 buffers are skipped without
 * a report.  Returns how many were (or would be) removed, or ZB_ESYS /
 * ZB_EPERM when /dev/shm cannot be listed.  fn may be NULL. */
ZB_API int zb_clean_stale (unsigned int flags, zb_clean_fn fn, void *user);

/* ------------------------------------------------------------------ */
/* Duplex channel: requests one way, responses the other.              */
/*
 * A channel CH is two ordinary buffers: CH_request, created by the server
 * (its reader) and written by the client, and CH_response, created by the
 * client (its reader, so the client sizes it) and written by the server.
 * A request is one frame of raw bytes; the server answers each request with
 * one frame (of any size) or, when its handler fails, with none.  Responses
 * are matched to requests by order only: the two sequence numbers are
 * separate counters.  Nothing else crosses the wire.
 *
 * Start order (client side, each step a call):
 *   zb_duplex_client_new          check the names; nothing blocks
 *   zb_duplex_client_open         wait for CH_request, attach as its writer
 *   zb_duplex_client_set_metadata optional, before CH_response exists:
 *                                 servers read it once, when they attach
 *   zb_duplex_client_connect_response
 *                                 create CH_response, wait for the server's
 *                                 writer (servers give up ~5 s after they
 *                                 see the client, upstream ones after they
 *                                 start: ZB_ENOATTACH)
 * then requests through zb_duplex_client_request_writer() and responses
 * through zb_duplex_client_response_reader(), with the ordinary reader and
 * writer calls.  The server: zb_duplex_server_create, _wait_client,
 * _attach, then read requests and write responses the same way.
 *
 * Objects are used by one thread at a time, except that _interrupt(),
 * _last_error() and zb_duplex_client_check_server() may be called from any
 * thread while the object exists.  Errors follow the library's rules: each
 * object keeps the detail of its last failed call.
 */

/* Suffixes of the two buffers, and the longest channel name whose buffer
 * names are both valid (ZB_NAME_MAX - strlen ("_response")). */
#define ZB_DUPLEX_REQUEST_SUFFIX "_request"
#define ZB_DUPLEX_RESPONSE_SUFFIX "_response"
#define ZB_CHANNEL_NAME_MAX (ZB_NAME_MAX - 9u)

/* 0 if CHANNEL is acceptable (a valid buffer name of at most
 * ZB_CHANNEL_NAME_MAX bytes), else ZB_EBADNAME.  Nothing is touched. */
ZB_API int zb_validate_channel_name (const char *channel);

typedef struct zb_duplex_client zb_duplex_client;

/* Make a client for CHANNEL: validates the name (ZB_EBADNAME), connects
 * nothing.  Detail in zb_last_error(). */
ZB_API int zb_duplex_client_new (zb_duplex_client ** out, const char *channel);

/* Attach as writer of CHANNEL_request, waiting up to timeout_ms for a
 * server to create it: ZB_ENOTFOUND (no server), ZB_ENOREADER (its server
 * is dead), ZB_EWRITERBUSY (another client is attached), ZB_ECANCELED
 * (interrupted), and the other refusals of zb_writer_open().  NULL options
 * are the defaults. */
ZB_API int zb_duplex_client_open (zb_duplex_client * c,
    const zb_writer_options * request_options, int timeout_ms);

/* Write metadata into CHANNEL_request: after open, before
 * connect_response (ZB_EBUSY after it).  If the buffer already holds
 * metadata (a server serving a second client keeps the first one's), the
 * same bytes are ZB_OK and other bytes ZB_EMETAWRITTEN. */
ZB_API int zb_duplex_client_set_metadata (zb_duplex_client * c,
    const void *data, size_t size);

/* Create CHANNEL_response as its reader (response_options: ring size,
 * metadata block, mode, spin; see zb_ring_size_for_frames(); gaps in the
 * server's sequence numbers are always allowed: responses are matched by
 * order, and upstream servers skip a number when a handler gives up a
 * frame it acquired) and wait up to
 * timeout_ms for the server's writer to attach.  ZB_ENOATTACH when it did
 * not; ZB_ESERVERGONE when the server left meanwhile; ZB_ECANCELED; the
 * errors of zb_reader_create() (ZB_EEXIST: a live reader owns the name).
 * Once created, the buffer stays until close: after ZB_ENOATTACH or
 * ZB_ECANCELED a second call waits again (its options are not used); after
 * the server attached it returns ZB_OK at once. */
ZB_API int zb_duplex_client_connect_response (zb_duplex_client * c,
    const zb_reader_options * response_options, int timeout_ms);

/* The client's writer of CHANNEL_request (NULL before open) and reader of
 * CHANNEL_response (NULL before connect_response).  They belong to the
 * client: use them, never close them. */
ZB_API zb_writer *zb_duplex_client_request_writer (zb_duplex_client * c);
ZB_API zb_reader *zb_duplex_client_response_reader (zb_duplex_client * c);

/* ZB_OK while the server is there, ZB_ESERVERGONE once it is not, with the
 * detail saying how: it closed CHANNEL_request (reader pid 0) or its side
 * of CHANNEL_response (writer pid 0), another process took its place, or
 * it died (the pid check of the library: OFD lock for our servers, kill()
 * for upstream ones).  A dead server's CHANNEL_request is removed.  Call it
 * after a response wait timed out or ended (ZB_EOS, ZB_EWRITERGONE) or a
 * request write failed, to tell "server gone" from "server slow". */
ZB_API int zb_duplex_client_check_server (zb_duplex_client * c);

/* Interrupt (on != 0) or re-arm every wait of the client: open,
 * connect_response, and its writer's and reader's waits. */
ZB_API void zb_duplex_client_interrupt (zb_duplex_client * c, int on);

/* Close the request writer (the server sees end of stream after the last
 * request), then remove CHANNEL_response (the server's next response write
 * fails with ZB_EREADERGONE), and free c.  NULL is ignored. */
ZB_API void zb_duplex_client_close (zb_duplex_client * c);
/* Like zb_duplex_client_close(), but the request writer stays attached and
 * is returned (NULL if never opened): the caller closes it later with
 * zb_writer_close(), for instance once no memory of its reservation is in
 * use any more.  CHANNEL_response is removed at once. */
ZB_API zb_writer *zb_duplex_client_close_keep_writer (zb_duplex_client * c);

ZB_API const char *zb_duplex_client_channel (const zb_duplex_client * c);
ZB_API const char *zb_duplex_client_last_error (zb_duplex_client * c);

typedef struct zb_duplex_server zb_duplex_server;

/* Create CHANNEL_request (request_options as for zb_reader_create(); its
 * spin_us is also the response writer's).  ZB_EBADNAME, ZB_EEXIST (a live
 * server owns the channel) and the other errors of zb_reader_create(), with
 * the detail in zb_last_error(). */
ZB_API int zb_duplex_server_create (zb_duplex_server ** out,
    const char *channel, const zb_reader_options * request_options);

/* Wait up to timeout_ms for a client's writer on CHANNEL_request:
 * ZB_ETIMEDOUT, ZB_ECANCELED. */
ZB_API int zb_duplex_server_wait_client (zb_duplex_server * s,
    int timeout_ms);

/* Attach as writer of CHANNEL_response, retrying until timeout_ms while it
 * does not exist yet or has no live reader (upstream servers allow 5000):
 * then ZB_ENOTFOUND or ZB_ENOREADER; ZB_EBUSY when attached already;
 * ZB_ECANCELED; the refusals of zb_writer_open() at once. */
ZB_API int zb_duplex_server_attach (zb_duplex_server * s, int timeout_ms);

/* The server's reader of CHANNEL_request and writer of CHANNEL_response
 * (NULL before attach).  They belong to the server. */
ZB_API zb_reader *zb_duplex_server_request_reader (zb_duplex_server * s);
ZB_API zb_writer *zb_duplex_server_response_writer (zb_duplex_server * s);

/* End the session and start afresh for the next client: detach from
 * CHANNEL_response, remove CHANNEL_request and create it again (empty ring,
 * no metadata, the next client's sequence numbers start at 1).  Requests
 * not read are dropped.  On failure only zb_duplex_server_close() is left
 * to call. */
ZB_API int zb_duplex_server_reset (zb_duplex_server * s);

/* Interrupt (on != 0) or re-arm every wait of the server. */
ZB_API void zb_duplex_server_interrupt (zb_duplex_server * s, int on);

/* Detach from CHANNEL_response (the client sees end of stream after the
 * last response), remove CHANNEL_request, free s.  NULL is ignored. */
ZB_API void zb_duplex_server_close (zb_duplex_server * s);

ZB_API const char *zb_duplex_server_channel (const zb_duplex_server * s);
ZB_API const char *zb_duplex_server_last_error (zb_duplex_server * s);

#ifdef __cplusplus
}
#endif
#endif /* ZEROBUFFER_H */
