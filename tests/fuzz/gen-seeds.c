/* Writes the seed corpora of the fuzz targets: DIR/reader, DIR/writer and
 * DIR/parse.  Each seed is a short program in the targets' input language
 * (fuzz-ops.h) that exercises one normal path, so that the fuzzer starts
 * from deep, valid states and mutates from there.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: zbfuzz-seeds DIR
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-ops.h"

typedef struct
{
  uint8_t b[4096];
  size_t n;
} prog;

static void
u8 (prog * p, unsigned v)
{
  if (p->n < sizeof p->b)
    p->b[p->n++] = (uint8_t) v;
}

static void
u16 (prog * p, unsigned v)
{
  u8 (p, v & 0xff);
  u8 (p, (v >> 8) & 0xff);
}

static void
u64 (prog * p, uint64_t v)
{
  int i;

  for (i = 0; i < 8; i++)
    u8 (p, (unsigned) (v >> (8 * i)) & 0xff);
}

static const char *outdir;
static int failed;

static void
save (const char *sub, const char *name, const prog * p)
{
  char path[4096];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s/%s", outdir, sub, name);
  f = fopen (path, "wb");
  if (f == NULL || fwrite (p->b, 1, p->n, f) != p->n) {
    fprintf (stderr, "zbfuzz-seeds: cannot write %s\n", path);
    failed = 1;
  }
  if (f)
    fclose (f);
}

/* ------------------------------------------------------------- reader */

#define R_CFG(m, p) ((m) | (p) << 2)

static void
r_frame (prog * p, unsigned size, unsigned flags, unsigned fill)
{
  u8 (p, RD_WRITE_FRAME);
  u16 (p, size);
  u8 (p, flags);
  u8 (p, fill);
}

static void
r_op (prog * p, unsigned op)
{
  u8 (p, op);
}

static void
r_op1 (prog * p, unsigned op, unsigned arg)
{
  u8 (p, op);
  u8 (p, arg);
}

static void
reader_seeds (void)
{
  prog p;
  unsigned i;

  /* a stream through a 4 KiB ring with metadata, in order, wrapping */
  memset (&p, 0, sizeof p);
  u8 (&p, R_CFG (3, 3));
  r_op1 (&p, RD_SET_WPID, 4);
  u8 (&p, RD_WRITE_META);
  u8 (&p, 40);
  u8 (&p, 0);
  u8 (&p, 'j');
  r_op (&p, RD_GET_META);
  for (i = 0; i < 12; i++) {
    r_frame (&p, 300 + 97 * i, 0, i);
    r_op (&p, RD_ACQUIRE);
    r_op1 (&p, RD_RELEASE, 0);
  }
  r_op (&p, RD_STATS);
  r_op (&p, RD_WRITER_CLOSE);
  r_op (&p, RD_ACQUIRE);
  save ("reader", "stream", &p);

  /* frames held and released out of order */
  memset (&p, 0, sizeof p);
  u8 (&p, R_CFG (1, 2));
  r_op1 (&p, RD_SET_WPID, 4);
  for (i = 0; i < 6; i++) {
    r_frame (&p, 100 + 10 * i, 0, i);
    r_op (&p, RD_ACQUIRE);
  }
  r_op1 (&p, RD_RELEASE, 2);
  r_op1 (&p, RD_RELEASE, 0);
  r_op (&p, RD_STATS);
  u8 (&p, RD_RELEASE_BOGUS);
  u8 (&p, 0);
  u8 (&p, 0);
  u8 (&p, 0);
  for (i = 0; i < 6; i++) {
    r_frame (&p, 150, 0, 9);
    r_op (&p, RD_ACQUIRE);
  }
  r_op1 (&p, RD_RELEASE, 1);
  r_op (&p, RD_CLOSE);
  r_op1 (&p, RD_RELEASE, 0);
  save ("reader", "out-of-order", &p);

  /* many small frames held at once, released out of order: the ledger
   * grows while its head is not at slot 0 */
  memset (&p, 0, sizeof p);
  u8 (&p, R_CFG (0, 3));
  r_op1 (&p, RD_SET_WPID, 4);
  for (i = 0; i < 20; i++) {
    r_frame (&p, 100, 0, i);
    r_op (&p, RD_ACQUIRE);
  }
  for (i = 0; i < 10; i++)
    r_op1 (&p, RD_RELEASE, 0);
  for (i = 0; i < 150; i++) {
    r_frame (&p, 1, 0, i);
    r_op (&p, RD_ACQUIRE);
  }
  for (i = 0; i < 160; i++)
    r_op1 (&p, RD_RELEASE, i * 7);
  save ("reader", "many-held", &p);

  /* a 64-byte ring: tails shorter than a header (implicit wraps) */
  memset (&p, 0, sizeof p);
  u8 (&p, R_CFG (0, 0));
  r_op1 (&p, RD_SET_WPID, 4);
  for (i = 0; i < 16; i++) {
    r_frame (&p, 1 + (i * 7) % 40, 0, i);
    r_op (&p, RD_ACQUIRE);
    r_op1 (&p, RD_RELEASE, 0);
  }
  save ("reader", "tiny-ring", &p);

  /* writer dies: frames left are still read, then writer gone */
  memset (&p, 0, sizeof p);
  u8 (&p, R_CFG (0, 2));
  r_op1 (&p, RD_SET_WPID, 4);
  r_frame (&p, 64, 0, 1);
  r_frame (&p, 64, 0, 2);
  r_op1 (&p, RD_SET_WPID, 1);
  r_op (&p, RD_ACQUIRE);
  r_op (&p, RD_ACQUIRE);
  r_op (&p, RD_ACQUIRE);
  r_op1 (&p, RD_CLOCK, 3);
  r_op (&p, RD_ACQUIRE);
  save ("reader", "writer-dies", &p);

  /* a writer of ours (holding its lock byte) leaves, a new one comes */
  memset (&p, 0, sizeof p);
  u8 (&p, R_CFG (1, 2));
  r_op1 (&p, RD_WLOCK, 1);
  r_op1 (&p, RD_SET_WPID, 4);
  r_op (&p, RD_WAIT_WRITER);
  r_frame (&p, 10, 0, 1);
  r_op (&p, RD_ACQUIRE);
  r_op1 (&p, RD_WLOCK, 0);
  r_op1 (&p, RD_CLOCK, 1);
  r_op (&p, RD_ACQUIRE);
  r_op (&p, RD_NEW_WRITER);
  r_frame (&p, 20, 0, 2);
  r_op (&p, RD_ACQUIRE);
  r_op (&p, RD_INSPECT);
  r_op1 (&p, RD_INTERRUPT, 1);
  r_op (&p, RD_ACQUIRE);
  r_op1 (&p, RD_INTERRUPT, 0);
  save ("reader", "writer-lock", &p);

  /* corrupt header words and frames */
  memset (&p, 0, sizeof p);
  u8 (&p, R_CFG (2, 1));
  r_op1 (&p, RD_SET_WPID, 4);
  r_frame (&p, 20, WF_BAD_SEQ, 7);
  r_op (&p, RD_ACQUIRE);
  u8 (&p, RD_SET_FIELD);
  u8 (&p, 5);                   /* payload_free_bytes */
  u8 (&p, 2);                   /* P + (int8) */
  u64 (&p, 1);
  r_op (&p, RD_ACQUIRE);
  u8 (&p, RD_WRITE_BYTES);
  u16 (&p, 128 + 256);
  u8 (&p, 16);
  u64 (&p, 5000);
  u64 (&p, 1);
  u8 (&p, RD_SET_FIELD);
  u8 (&p, 5);
  u8 (&p, 1);
  u64 (&p, 0);
  r_op (&p, RD_ACQUIRE);
  u8 (&p, RD_WRITE_META);
  u8 (&p, 250);
  u8 (&p, 0x81);
  u8 (&p, 'x');
  r_op (&p, RD_GET_META);
  save ("reader", "corrupt", &p);
}

/* ------------------------------------------------------------- writer */

#define W_CFG(m, p, g) ((m) | (p) << 2 | (g) << 4)

static void
w_write (prog * p, unsigned op, unsigned sel, unsigned size, unsigned fill)
{
  u8 (p, op);
  u8 (p, sel);
  u16 (p, size);
  u8 (p, fill);
}

static void
w_op1 (prog * p, unsigned op, unsigned arg)
{
  u8 (p, op);
  u8 (p, arg);
}

static void
writer_seeds (void)
{
  prog p;
  unsigned i;

  /* a stream with metadata, read and given back as it goes */
  memset (&p, 0, sizeof p);
  u8 (&p, W_CFG (2, 2, 1));
  u8 (&p, 0);
  u8 (&p, WR_SET_META);
  u8 (&p, 0);
  u8 (&p, 60);
  u8 (&p, 'm');
  for (i = 0; i < 12; i++) {
    w_write (&p, WR_WRITE, 3, 90 + 41 * i, i);
    w_op1 (&p, WR_FAKE_READ, 0);
    w_op1 (&p, WR_FAKE_RELEASE, 1);
  }
  u8 (&p, WR_QUERY);
  u8 (&p, WR_CLOSE);
  save ("writer", "stream", &p);

  /* zero-copy: reserve, shrink, abandon, fill the ring */
  memset (&p, 0, sizeof p);
  u8 (&p, W_CFG (1, 1, 0));
  u8 (&p, 0);
  for (i = 0; i < 6; i++) {
    w_write (&p, WR_RESERVE, 3, 40, i);
    u8 (&p, WR_COMMIT);
    u8 (&p, 1);
    u16 (&p, 30 + i);
    w_op1 (&p, WR_FAKE_READ, 1);
  }
  w_write (&p, WR_RESERVE, 3, 20, 7);
  u8 (&p, WR_ABANDON);
  w_op1 (&p, WR_FAKE_RELEASE, 7);
  w_write (&p, WR_RESERVE, 2, 0, 8);
  u8 (&p, WR_COMMIT);
  u8 (&p, 0);
  u16 (&p, 0);
  w_op1 (&p, WR_FAKE_READ, 1);
  save ("writer", "zero-copy", &p);

  /* ring full, then space comes back; reader changes; reconnect */
  memset (&p, 0, sizeof p);
  u8 (&p, W_CFG (0, 0, 2));
  u8 (&p, 0);
  for (i = 0; i < 5; i++)
    w_write (&p, WR_WRITE, 3, 8, i);
  w_op1 (&p, WR_FAKE_READ, 3);
  w_op1 (&p, WR_FAKE_RELEASE, 3);
  w_write (&p, WR_WRITE, 3, 8, 9);
  w_op1 (&p, WR_INTERRUPT, 1);
  w_write (&p, WR_WRITE, 3, 8, 9);
  w_op1 (&p, WR_INTERRUPT, 0);
  u8 (&p, WR_REOPEN);
  w_write (&p, WR_WRITE, 3, 4, 10);
  w_op1 (&p, WR_SET_RPID, 1);
  w_write (&p, WR_WRITE, 3, 4, 11);
  save ("writer", "full-ring", &p);

  /* a reader of ours (lock byte held) dies: the writer cleans up */
  memset (&p, 0, sizeof p);
  u8 (&p, W_CFG (1, 2, 1));
  u8 (&p, 1);
  u8 (&p, 3);                   /* pre-connect: take the reader lock */
  w_write (&p, WR_WRITE, 0, 10, 1);
  w_op1 (&p, WR_READER_LOCK, 0);
  w_op1 (&p, WR_CLOCK, 3);
  w_write (&p, WR_WRITE, 0, 10, 2);
  u8 (&p, WR_REOPEN);
  save ("writer", "reader-dies", &p);

  /* Regression: a reservation that wrapped (marker published, tail taken)
   * and was abandoned must not leave bytes a reader cannot parse at EOS. */
  memset (&p, 0, sizeof p);
  u8 (&p, W_CFG (0, 0, 0));
  u8 (&p, 0);
  w_write (&p, WR_WRITE, 3, 8, 0);
  w_write (&p, WR_WRITE, 3, 8, 0);      /* write_pos 48: a 16-byte tail */
  w_op1 (&p, WR_FAKE_READ, 1);
  w_op1 (&p, WR_FAKE_RELEASE, 1);
  w_write (&p, WR_RESERVE, 0, 0, 0);    /* 1 byte: must wrap */
  u8 (&p, WR_ABANDON);
  save ("writer", "regress-dangling-tail", &p);

  /* Regression: a reservation ending exactly at the end of the ring,
   * committed 2 bytes shorter while the reader holds the ring's start. */
  memset (&p, 0, sizeof p);
  u8 (&p, W_CFG (0, 1, 0));
  u8 (&p, 0);
  w_write (&p, WR_WRITE, 3, 36, 'x');
  w_write (&p, WR_WRITE, 3, 36, 'x');
  w_op1 (&p, WR_FAKE_READ, 1);
  w_write (&p, WR_RESERVE, 3, 72, 'y');
  u8 (&p, WR_COMMIT);
  u8 (&p, 1);
  u16 (&p, 69);                 /* 1 + 69 % 72 = 70 bytes */
  save ("writer", "regress-commit-replace", &p);

  /* corrupt headers at connect time, and a too-small object */
  memset (&p, 0, sizeof p);
  u8 (&p, W_CFG (1, 2, 0));
  u8 (&p, 1);
  u8 (&p, 1);                   /* pre-connect SET_FIELD */
  u8 (&p, 4);                   /* payload_size */
  u8 (&p, 2);
  u64 (&p, 64);                 /* P + 64: larger than the object */
  u8 (&p, WR_SET_FIELD);
  u8 (&p, 4);
  u8 (&p, 2);
  u64 (&p, 0);
  u8 (&p, WR_TRUNC_OPEN);
  u16 (&p, 600);
  u8 (&p, WR_REOPEN);
  u8 (&p, WR_SET_FIELD);
  u8 (&p, 6);                   /* payload_write_pos */
  u8 (&p, 2);
  u64 (&p, 1);
  u8 (&p, WR_REOPEN);
  w_write (&p, WR_WRITE, 0, 10, 1);
  u8 (&p, WR_HOSTILE_RELEASE);
  u8 (&p, 5);
  u64 (&p, 0);
  w_write (&p, WR_WRITE, 0, 10, 2);
  save ("writer", "corrupt", &p);
}

/* -------------------------------------------------------------- parse */

static void
parse_seeds (void)
{
  static const char *const seeds[] = {
    "4096", "64K", "16MiB", "1G", "2gb", " 12 ", "18446744073709551609",
    "18446744073709551615",     /* regression: UINT64_MAX fits */
    "17179869184G", "cam1", "a.b_c-d", ".hidden", "x/y",
  };
  char name[32];
  prog p;
  size_t i;

  for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    memset (&p, 0, sizeof p);
    p.n = strlen (seeds[i]);
    memcpy (p.b, seeds[i], p.n);
    snprintf (name, sizeof name, "seed-%zu", i);
    save ("parse", name, &p);
  }
  memset (&p, 0, sizeof p);
  memset (p.b, 'a', 200);
  p.n = 200;
  save ("parse", "name-200", &p);
}

int
main (int argc, char **argv)
{
  static const char *const subs[] = { "reader", "writer", "parse" };
  char path[4096];
  size_t i;

  if (argc != 2) {
    fprintf (stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  outdir = argv[1];
  mkdir (outdir, 0755);
  for (i = 0; i < 3; i++) {
    snprintf (path, sizeof path, "%s/%s", outdir, subs[i]);
    if (mkdir (path, 0755) < 0 && errno != EEXIST) {
      perror (path);
      return 1;
    }
  }
  reader_seeds ();
  writer_seeds ();
  parse_seeds ();
  return failed;
}
