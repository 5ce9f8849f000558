/* libzerobuffer: stale buffers, what readers that died left behind.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A reader that dies cannot remove its four objects, and readers of other
 * names never look at them, so a host whose readers are killed (docker
 * stop, SIGKILL) slowly fills /dev/shm.  This file decides which buffers
 * are stale and removes them; zb_reader_create() runs it for every name.
 *
 * The rule errs on the side of keeping: a buffer is removed only when its
 * reader can be proven dead without trusting a pid (a pid may come from
 * another PID namespace, where it means another process or none).  Proof
 * is our reader's mark in its lock file (written at creation, naming the
 * shared-memory object by device and inode) together with both locks a
 * live reader of ours holds (flock on the lock file, the OFD byte on the
 * object) being free.  Everything else is kept, unless the caller asks
 * for ZB_CLEAN_UNMARKED and /proc shows every process of the host and
 * none of them maps or holds the object.
 *
 * Nothing here maps an object: headers are read with pread(), so an
 * object truncated under us gives a short read, not SIGBUS.  Only regular
 * files are opened, read-only and without blocking.
 */
#include "zb-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SHM_DIR "/dev/shm"
/* The mark in a lock file: device and inode of the object, reader pid. */
#define MARK_PREFIX "zerobuffer-reader 1 "
/* Inode of the initial PID namespace (PROC_PID_INIT_INO in the kernel). */
#define ZB_PROC_PID_INIT_INO 0xEFFFFFFCu

/* ------------------------------------------------------------- the mark */

void
zb_lock_mark (int lock_fd, int shm_fd)
{
  struct stat st;
  char text[128];
  int n;

  if (fstat (shm_fd, &st) < 0)
    return;
  n = snprintf (text, sizeof text, MARK_PREFIX "dev=%llu ino=%llu pid=%llu\n",
      (unsigned long long) st.st_dev, (unsigned long long) st.st_ino,
      (unsigned long long) getpid ());
  if (n <= 0 || (size_t) n >= sizeof text || ftruncate (lock_fd, 0) < 0)
    return;
  if (pwrite (lock_fd, text, (size_t) n, 0) != n)
    (void) !ftruncate (lock_fd, 0);     /* half a mark is no mark */
}

/* 1: the lock file's mark names this object (and this reader pid, or the
 * reader closed: pid 0); -1: it names another object or pid; 0: no mark. */
static int
read_mark (int lfd, const struct stat *obj, uint64_t reader_pid)
{
  char text[128];
  unsigned long long dev, ino, pid;
  ssize_t n = pread (lfd, text, sizeof text - 1, 0);
  int used = 0;

  if (n <= 0)
    return 0;
  text[n] = '\0';
  if (strncmp (text, MARK_PREFIX, strlen (MARK_PREFIX)) != 0)
    return 0;
  if (sscanf (text + strlen (MARK_PREFIX), "dev=%llu ino=%llu pid=%llu\n%n",
          &dev, &ino, &pid, &used) != 3 || used == 0)
    return 0;
  if (dev != (unsigned long long) obj->st_dev
      || ino != (unsigned long long) obj->st_ino
      || (reader_pid != 0 && reader_pid != pid))
    return -1;
  return 1;
}

/* --------------------------------------------------------------- pids */

enum
{
  PID_GONE,                     /* no such process here, or a zombie */
  PID_MAPS,                     /* alive and maps (or holds) the object */
  PID_OTHER,                    /* alive, and not using the object */
  PID_UNKNOWN                   /* alive, but we cannot see its mappings */
};

/* /proc shows our PID namespace (a /proc of another namespace would give
 * other processes under the same numbers). */
static int
proc_is_ours (void)
{
  char buf[32];
  ssize_t n = readlink ("/proc/self", buf, sizeof buf - 1);

  if (n <= 0)
    return 0;
  buf[n] = '\0';
  return strtol (buf, NULL, 10) == (long) getpid ();
}

/* The whole of a small /proc file, NUL-terminated; NULL with errno. */
static char *
slurp (int fd)
{
  size_t cap = 16384, len = 0;
  char *buf = malloc (cap);

  if (buf == NULL)
    return NULL;
  for (;;) {
    ssize_t n;

    if (cap - len < 4096) {
      char *bigger = cap > (64u << 20) ? NULL : realloc (buf, cap * 2);

      if (bigger == NULL) {
        free (buf);
        errno = ENOMEM;
        return NULL;
      }
      buf = bigger;
      cap *= 2;
    }
    n = read (fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;

      free (buf);
      errno = err;
      return NULL;
    }
    if (n == 0)
      break;
    len += (size_t) n;
  }
  buf[len] = '\0';
  return buf;
}

typedef void (*maps_fn) (uint64_t dev, uint64_t ino, void *user);

/* Calls fn for each file mapping of /proc/PID/maps ("addr perms offset
 * maj:min inode path").  0, or -errno when it cannot be read. */
static int
each_mapping (const char *path, maps_fn fn, void *user)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  char *text, *line, *next;

  if (fd < 0)
    return -errno;
  text = slurp (fd);
  if (text == NULL) {
    int err = errno;

    close (fd);
    return -err;
  }
  close (fd);
  for (line = text; *line; line = next) {
    char *p = line, *end;
    unsigned long maj, min;
    unsigned long long ino;
    int field;

    next = strchr (line, '\n');
    next = next ? next + 1 : line + strlen (line);
    for (field = 0; field < 3; field++) {
      p = strchr (p, ' ');
      if (p == NULL || p >= next)
        break;
      while (*p == ' ')
        p++;
    }
    if (field < 3 || p == NULL)
      continue;
    maj = strtoul (p, &end, 16);
    if (*end != ':')
      continue;
    min = strtoul (end + 1, &end, 16);
    ino = strtoull (end, &end, 10);
    if (ino != 0)
      fn ((uint64_t) makedev (maj, min), ino, user);
  }
  free (text);
  return 0;
}

typedef struct
{
  uint64_t dev, ino;
  int found;
} find_one;

static void
find_mapping (uint64_t dev, uint64_t ino, void *user)
{
  find_one *f = user;

  if (dev == f->dev && ino == f->ino)
    f->found = 1;
}

/* What the process pid, read from a header, is to the object obj. */
static int
pid_state (uint64_t pid, const struct stat *obj)
{
  char path[64];
  find_one f = { (uint64_t) obj->st_dev, (uint64_t) obj->st_ino, 0 };
  int rc;

  if (pid == 0 || pid > (uint64_t) INT_MAX)
    return PID_GONE;
  if (kill ((pid_t) pid, 0) < 0 && errno == ESRCH)
    return PID_GONE;
  if (!proc_is_ours ())
    return PID_UNKNOWN;
  if (zb_pid_is_zombie ((pid_t) pid))
    return PID_GONE;
  snprintf (path, sizeof path, "/proc/%d/maps", (int) pid);
  rc = each_mapping (path, find_mapping, &f);
  if (rc == -ENOENT || rc == -ESRCH)
    return PID_GONE;
  if (rc < 0)
    return PID_UNKNOWN;
  return f.found ? PID_MAPS : PID_OTHER;
}

/* ------------------------------------------- every process of the host */

typedef struct
{
  uint64_t dev, ino;
} devino;

typedef struct
{
  int built;
  const char *missing;          /* NULL once every process was seen */
  char why[160];
  devino *v;
  size_t n, cap;
} proc_view;

static void
view_add (uint64_t dev, uint64_t ino, void *user)
{
  proc_view *pv = user;

  if (pv->n == pv->cap) {
    size_t ncap = pv->cap ? pv->cap * 2 : 1024;
    devino *nv = realloc (pv->v, ncap * sizeof *nv);

    if (nv == NULL) {
      pv->missing = "out of memory";
      return;
    }
    pv->v = nv;
    pv->cap = ncap;
  }
  pv->v[pv->n].dev = dev;
  pv->v[pv->n].ino = ino;
  pv->n++;
}

static int
devino_cmp (const void *a, const void *b)
{
  const devino *x = a, *y = b;

  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return 0;
}

/* Every file any process maps or has open, or why we cannot know. */
static void
view_build (proc_view * pv)
{
  struct stat ns;
  DIR *d;
  struct dirent *e;
  pid_t self = getpid ();

  pv->built = 1;
  pv->missing = NULL;
  if (stat ("/proc/self/ns/pid", &ns) < 0) {
    pv->missing = "/proc/self/ns/pid cannot be read";
    return;
  }
  if ((uint64_t) ns.st_ino != ZB_PROC_PID_INIT_INO) {
    pv->missing = "this is not the host's initial PID namespace, so the "
        "processes of other namespaces are out of sight";
    return;
  }
  if (!proc_is_ours () || (d = opendir ("/proc")) == NULL) {
    pv->missing = "/proc does not show this PID namespace";
    return;
  }
  while (pv->missing == NULL && (e = readdir (d)) != NULL) {
    char path[64], *endp;
    long pid = strtol (e->d_name, &endp, 10);
    DIR *fdd;
    struct dirent *fe;
    int rc;

    if (*endp != '\0' || pid <= 0)
      continue;
    snprintf (path, sizeof path, "/proc/%ld/maps", pid);
    rc = each_mapping (path, view_add, pv);
    if (rc == -ENOENT || rc == -ESRCH)
      continue;                 /* it exited meanwhile */
    if (rc < 0) {
      snprintf (pv->why, sizeof pv->why, "/proc/%ld/maps cannot be read "
          "(%s)%s", pid, strerror (-rc), geteuid () ? ": run as root" : "");
      pv->missing = pv->why;
      break;
    }
    /* Our own descriptors include the one examining the object. */
    if (pid == (long) self)
      continue;
    snprintf (path, sizeof path, "/proc/%ld/fd", pid);
    fdd = opendir (path);
    if (fdd == NULL) {
      if (errno == ENOENT || errno == ESRCH)
        continue;
      snprintf (pv->why, sizeof pv->why, "/proc/%ld/fd cannot be read "
          "(%s)%s", pid, strerror (errno), geteuid () ? ": run as root" : "");
      pv->missing = pv->why;
      break;
    }
    while ((fe = readdir (fdd)) != NULL) {
      struct stat st;

      if (fe->d_name[0] == '.')
        continue;
      if (fstatat (dirfd (fdd), fe->d_name, &st, 0) == 0
          && S_ISREG (st.st_mode))
        view_add ((uint64_t) st.st_dev, (uint64_t) st.st_ino, pv);
    }
    closedir (fdd);
  }
  closedir (d);
  if (pv->missing == NULL && pv->n > 1)
    qsort (pv->v, pv->n, sizeof *pv->v, devino_cmp);
}

static const char VIEW_IN_USE[] = "a process maps or holds it";

/* NULL when no process maps or holds obj, VIEW_IN_USE when one does, else
 * why nobody can tell. */
static const char *
view_check (proc_view * pv, const struct stat *obj)
{
  devino key = { (uint64_t) obj->st_dev, (uint64_t) obj->st_ino };

  if (!pv->built)
    view_build (pv);
  if (pv->missing)
    return pv->missing;
  if (pv->n && bsearch (&key, pv->v, pv->n, sizeof key, devino_cmp))
    return VIEW_IN_USE;
  return NULL;
}

/* ------------------------------------------------------------ examine */

typedef struct
{
  int dirfd;
  unsigned int flags;
  proc_view procs;
} clean_ctx;

/* zb_validate_name() without touching the caller's error detail. */
static int
name_ok (const char *name)
{
  size_t i;

  if (name[0] == '\0' || name[0] == '.')
    return 0;
  for (i = 0; name[i] != '\0'; i++) {
    unsigned char c = (unsigned char) name[i];

    if (i >= ZB_NAME_MAX)
      return 0;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

static void say (zb_stale_info * si, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
say (zb_stale_info * si, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (si->reason, sizeof si->reason, fmt, ap);
  va_end (ap);
}

/* A name whose "data ready" semaphore exists is a buffer's, readable or
 * not. */
static int
has_semaphore (int dirfd, const char *name)
{
  char sem[NAME_MAX + 16];
  struct stat st;

  snprintf (sem, sizeof sem, "sem.sem-w-%s", name);
  return fstatat (dirfd, sem, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
read_header (int fd, struct stat *st, zb_oieb_raw * raw)
{
  return fstat (fd, st) == 0 && S_ISREG (st->st_mode)
      && pread (fd, raw->b, sizeof raw->b, 0) == (ssize_t) sizeof raw->b
      && zb_raw_is_v1 (raw, (uint64_t) st->st_size);
}

#define PID_OF(raw, field) zb_raw_u64 (raw, offsetof (zb_oieb, field))

/* With the lock file held (lock_path NULL when there is none): make sure
 * NAME still is the object we judged, nobody attached meanwhile, then
 * remove the four objects. */
static void
remove_buffer (clean_ctx * c, zb_stale_info * si, const struct stat *judged,
    const zb_oieb_raw * raw, const char *lock_path)
{
  const char *name = si->name;
  char sem[ZB_NAME_MAX + 16];
  struct stat st;
  zb_oieb_raw now;
  int fd, same, err;

  fd = openat (c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
      | O_CLOEXEC);
  same = fd >= 0 && read_header (fd, &st, &now)
      && st.st_dev == judged->st_dev && st.st_ino == judged->st_ino;
  if (same && (zb_ofd_probe (fd, ZB_LOCK_BYTE_READER) != 0
          || zb_ofd_probe (fd, ZB_LOCK_BYTE_WRITER) != 0
          || PID_OF (&now, reader_pid) != PID_OF (raw, reader_pid)
          || PID_OF (&now, writer_pid) != PID_OF (raw, writer_pid)))
    same = 0;
  if (fd >= 0)
    close (fd);
  if (!same) {
    si->stale = 0;
    say (si, "it changed while it was examined (a new reader or writer)");
    return;
  }
  if (unlinkat (c->dirfd, name, 0) < 0) {
    err = errno;
    si->status = err == EPERM || err == EACCES ? ZB_EPERM : ZB_ESYS;
    snprintf (si->reason + strlen (si->reason),
        sizeof si->reason - strlen (si->reason), "; cannot remove "
        SHM_DIR "/%s: %s", name, strerror (err));
    return;
  }
  zb_sem_name (sem, sizeof sem, 'w', name);
  sem_unlink (sem);
  zb_sem_name (sem, sizeof sem, 'r', name);
  sem_unlink (sem);
  if (lock_path)
    unlink (lock_path);
  si->removed = 1;
}

/* Judge one entry of /dev/shm.  -1: not a v1 buffer (not reported); -2:
 * not readable (si->status ZB_EPERM); 0: kept; 1: stale (removed unless
 * dry run, or si->status says why not). */
static int
examine (clean_ctx * c, const char *name, zb_stale_info * si)
{
  char lock_path[ZB_NAME_MAX + 64];
  struct stat st, lst, lfst;
  zb_oieb_raw raw;
  uint64_t rpid, wpid;
  int fd, lfd = -1, mark = 0, rc = 0, wstate, rstate;

  memset (si, 0, sizeof *si);
  if (!name_ok (name))
    return -1;
  snprintf (si->name, sizeof si->name, "%s", name);
  if (fstatat (c->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0
      || !S_ISREG (st.st_mode) || (uint64_t) st.st_size < ZB_OIEB_SIZE)
    return -1;
  fd = openat (c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
      | O_CLOEXEC);
  if (fd < 0) {
    if (errno != EACCES && errno != EPERM)
      return -1;
    si->status = ZB_EPERM;
    say (si, "cannot read " SHM_DIR "/%s: %s", name, strerror (errno));
    return -2;
  }
  if (!read_header (fd, &st, &raw)) {
    close (fd);
    return -1;                  /* not a buffer, or one being made */
  }
  rpid = PID_OF (&raw, reader_pid);
  wpid = PID_OF (&raw, writer_pid);

  if (zb_ofd_probe (fd, ZB_LOCK_BYTE_READER) != 0) {
    say (si, "in use: a reader of ours holds it (pid %llu)",
        (unsigned long long) rpid);
    goto out;
  }
  if (zb_ofd_probe (fd, ZB_LOCK_BYTE_WRITER) != 0) {
    say (si, "in use: a writer of ours is attached (pid %llu)",
        (unsigned long long) wpid);
    goto out;
  }
  wstate = pid_state (wpid, &st);
  if (wstate == PID_MAPS || wstate == PID_UNKNOWN) {
    say (si, "in use: writer pid %llu is alive%s", (unsigned long long) wpid,
        wstate == PID_MAPS ? " and maps it" :
        " (whether it maps the buffer cannot be seen)");
    goto out;
  }
  rstate = pid_state (rpid, &st);
  if (rstate == PID_MAPS) {
    say (si, "in use: reader pid %llu is alive and maps it",
        (unsigned long long) rpid);
    goto out;
  }

  zb_lock_path (lock_path, sizeof lock_path, name);
  lfd = open (lock_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
      | O_CLOEXEC);
  if (lfd < 0 && errno != ENOENT) {
    say (si, "lock file %s cannot be opened: %s", lock_path,
        strerror (errno));
    goto out;
  }
  if (lfd >= 0) {
    if (fstat (lfd, &lfst) < 0 || !S_ISREG (lfst.st_mode)) {
      say (si, "lock file %s is not a regular file", lock_path);
      goto out;
    }
    /* Taken as a starting reader takes it: held means a live reader. */
    if (flock (lfd, LOCK_EX | LOCK_NB) < 0) {
      say (si, "in use: lock file %s is held by a live reader", lock_path);
      goto out;
    }
    if (lstat (lock_path, &lst) < 0 || lst.st_dev != lfst.st_dev
        || lst.st_ino != lfst.st_ino) {
      say (si, "lock file %s changed while it was examined",
          lock_path);
      goto out;
    }
    mark = read_mark (lfd, &st, rpid);
  }

  if (mark == 1) {
    say (si, "reader pid %llu died (its lock file and the buffer's "
        "locks are free)%s", (unsigned long long) rpid,
        wpid ? ", its writer is gone too" : "");
    rc = 1;
  } else if (c->flags & ZB_CLEAN_UNMARKED) {
    const char *why = view_check (&c->procs, &st);

    if (why == VIEW_IN_USE) {
      say (si, "in use: a process maps or holds it");
      goto out;
    }
    if (why) {
      say (si, "%s, and nothing proves it unused: %s", lfd < 0 ?
          "no lock file" : mark < 0 ? "its lock file names another object" :
          "its lock file has no libzerobuffer mark", why);
      goto out;
    }
    say (si, "no process of this host maps or holds it (reader pid "
        "%llu, %s)", (unsigned long long) rpid, lfd < 0 ? "no lock file" :
        "lock file free");
    rc = 1;
  } else if (lfd < 0) {
    say (si, "no lock file %s, so its reader (an upstream C# one, or "
        "one whose /tmp is not shared with us) cannot be proven dead; "
        "a pid alone is not trusted", lock_path);
    goto out;
  } else if (mark < 0) {
    say (si, "lock file %s names another object (the name was made "
        "again by a reader that does not mark it)", lock_path);
    goto out;
  } else {
    say (si, "lock file %s has no libzerobuffer mark (an upstream "
        "reader, or ours before marks): reader pid %llu cannot be trusted "
        "across PID namespaces", lock_path, (unsigned long long) rpid);
    goto out;
  }

  si->stale = 1;
  if (!(c->flags & ZB_CLEAN_DRY_RUN)) {
    const char *held = lfd >= 0 ? lock_path : NULL;
    int created = 0;

    /* No lock file: make one and hold it, so that a reader of ours (or an
     * upstream C++/Python one) starting under this name waits for us. */
    if (lfd < 0) {
      lfd = open (lock_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW
          | O_CLOEXEC, 0600);
      if (lfd >= 0 && flock (lfd, LOCK_EX | LOCK_NB) == 0) {
        held = lock_path;
        created = 1;
      }
      else if (lfd >= 0 || errno != ENOENT) {
        if (lfd >= 0) {
          unlink (lock_path);
          close (lfd);
          lfd = -1;
        }
        si->stale = 0;
        say (si, "a reader is starting under this name");
        rc = 0;
        goto out;
      }
    }
    remove_buffer (c, si, &st, &raw, held);
    if (created && !si->removed)
      unlink (lock_path);       /* ours: leave nothing we made */
    if (!si->stale)
      rc = 0;
  }

out:
  if (lfd >= 0)
    close (lfd);
  close (fd);
  return rc;
}

static void
ctx_done (clean_ctx * c)
{
  free (c->procs.v);
  if (c->dirfd >= 0)
    close (c->dirfd);
}

int
zb_clean_buffer (const char *name, unsigned int flags, zb_stale_info *info)
{
  clean_ctx c;
  zb_stale_info mine;
  int rc;

  zb_clear_error ();
  if ((rc = zb_validate_name (name)) != ZB_OK)
    return rc;
  if (info == NULL)
    info = &mine;
  memset (&c, 0, sizeof c);
  c.flags = flags;
  c.dirfd = open (SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c.dirfd < 0)
    return zb_fail_errno (ZB_ESYS, errno, "cannot open " SHM_DIR);
  rc = examine (&c, name, info);
  ctx_done (&c);
  if (rc == -1) {
    memset (info, 0, sizeof *info);
    snprintf (info->name, sizeof info->name, "%s", name);
    return zb_fail (ZB_ENOTFOUND, "%s: " SHM_DIR "/%s is not a ZeroBuffer "
        "v1 buffer (or does not exist)", name, name);
  }
  if (rc == -2)
    return zb_fail (ZB_EPERM, "%s: %s", name, info->reason);
  return rc;
}

static int
clean_dir (unsigned int flags, const char *skip, zb_clean_fn fn, void *user)
{
  clean_ctx c;
  DIR *d;
  struct dirent *e;
  int count = 0, fd;

  memset (&c, 0, sizeof c);
  c.flags = flags;
  c.dirfd = -1;
  fd = open (SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return zb_fail_errno (errno == EACCES ? ZB_EPERM : ZB_ESYS, errno,
        "cannot open " SHM_DIR);
  c.dirfd = dup (fd);
  d = c.dirfd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL) {
    int err = errno;

    close (fd);
    ctx_done (&c);
    return zb_fail_errno (ZB_ESYS, err, "cannot list " SHM_DIR);
  }
  while ((e = readdir (d)) != NULL) {
    zb_stale_info si;
    int rc;

    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
      continue;
    if (skip && strcmp (e->d_name, skip) == 0)
      continue;
    rc = examine (&c, e->d_name, &si);
    if (rc == -1 || (rc == -2 && !has_semaphore (c.dirfd, e->d_name)))
      continue;
    if (rc == 1 && (si.removed || (flags & ZB_CLEAN_DRY_RUN)))
      count++;
    if (fn)
      fn (&si, user);
  }
  closedir (d);
  ctx_done (&c);
  return count;
}

int
zb_clean_stale (unsigned int flags, zb_clean_fn fn, void *user)
{
  zb_clear_error ();
  return clean_dir (flags, NULL, fn, user);
}

void
zb_clean_others (const char *skip_name)
{
  char saved[ZB_ERROR_MAX];

  snprintf (saved, sizeof saved, "%s", zb_last_error ());
  clean_dir (0, skip_name, NULL, NULL);
  /* Only a failure to list /dev/shm records a detail: put back the
   * caller's, whatever it was. */
  if (strcmp (saved, zb_last_error ()) != 0)
    zb_fail (0, "%s", saved);
}
