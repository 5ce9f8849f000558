/* Opcodes of the fuzz targets' input programs, shared with the seed
 * generator.  An opcode byte is taken modulo the count; the arguments follow
 * it, little-endian, as listed.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef ZB_FUZZ_OPS_H
#define ZB_FUZZ_OPS_H

/* fuzz-reader: one config byte (bits 0-1 metadata size 0/64/200/256,
 * bits 2-3 payload size 64/100/1024/4096), then ops. */
enum
{
  RD_WRITE_BYTES,               /* off u16, len u8, bytes */
  RD_SET_FIELD,                 /* idx u8, sel u8, val u64 */
  RD_WRITE_FRAME,               /* size u16, flags u8, fill u8 */
  RD_POST_W,
  RD_ACQUIRE,
  RD_RELEASE,                   /* k u8 */
  RD_RELEASE_BOGUS,             /* k u8, kind u8, delta u8 */
  RD_GET_META,
  RD_SET_WPID,                  /* sel u8 */
  RD_WLOCK,                     /* on u8 */
  RD_WAIT_WRITER,
  RD_STATS,
  RD_WRITE_META,                /* len u8, flags u8, fill u8 */
  RD_INTERRUPT,                 /* on u8 */
  RD_CLOSE,
  RD_INSPECT,
  RD_WRITER_CLOSE,
  RD_NEW_WRITER,
  RD_CLOCK,                     /* v u8: 60..240 ms later */
  RD_COUNT
};

/* WRITE_FRAME flags: 0 is a well-behaved upstream writer. */
#define WF_EARLY_WRAP 0x01      /* wrap although the frame still fits */
#define WF_NO_MARKER 0x02       /* wrap without a marker */
#define WF_NO_ACCOUNT 0x04      /* do not lower payload_free_bytes */
#define WF_BAD_SEQ 0x08         /* sequence number from the fill byte */
#define WF_NO_POST 0x10
#define WF_OVERWRITE 0x20       /* write even without free space */
#define WF_HUGE 0x80            /* size not reduced modulo P */

/* fuzz-writer: one config byte (bits 0-1 metadata size 0/64/256/256,
 * bits 2-3 payload size 64/192/1024/4096, bits 4-5 guard bytes after the
 * ring / 64, bit 6 make the reader's lock file too), one byte: 0..3
 * changes before the first connect (each an opcode % 5: WRITE_BYTES,
 * SET_FIELD, SET_RPID with the op's arguments, take the reader lock byte,
 * take the writer lock byte), then ops. */
enum
{
  WR_WRITE_BYTES,               /* off u16, len u8, bytes */
  WR_SET_FIELD,                 /* idx u8, sel u8, val u64 */
  WR_WRITE,                     /* sel u8, size u16, fill u8 */
  WR_RESERVE,                   /* sel u8, size u16, fill u8 */
  WR_COMMIT,                    /* sel u8, size u16 */
  WR_ABANDON,
  WR_SET_META,                  /* sel u8, len u8, fill u8 */
  WR_POST_R,
  WR_FAKE_READ,                 /* n u8 */
  WR_FAKE_RELEASE,              /* n u8 */
  WR_HOSTILE_RELEASE,           /* sel u8, val u64 */
  WR_REOPEN,
  WR_CLOSE,
  WR_READER_LOCK,               /* on u8 */
  WR_SET_RPID,                  /* sel u8 */
  WR_TRUNC_OPEN,                /* size u16 */
  WR_QUERY,
  WR_INTERRUPT,                 /* on u8 */
  WR_CLOCK,                     /* v u8: 60..240 ms later */
  WR_GET_META,
  WR_WRITER_LOCK,               /* on u8: another writer's lock byte */
  WR_LOCK_FILE,                 /* on u8: flock the reader's lock file */
  WR_COUNT
};

/* SET_FIELD: idx u8 picks the u64 at offset 8 * (idx % 16); sel % 8 picks
 * the value: raw, low byte, P + (int8), M + (int8), 0, ~0 - byte, current +
 * (int8), 1 << (v % 64). */

#endif /* ZB_FUZZ_OPS_H */
