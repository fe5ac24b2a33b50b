#ifndef SVIRT_CLINUX_SHIM_H
#define SVIRT_CLINUX_SHIM_H
// Linux calls that Swift's Glibc module does not import on Debian 12 (they
// sit behind _GNU_SOURCE, or are variadic). Plain static inline wrappers:
// resolved at link time, so they work in a fully static binary, where a
// dlsym lookup would not. _GNU_SOURCE itself is not defined here: it would
// change the system headers' definitions and clash with other modules.
#include <sys/types.h>
#include <sys/syscall.h>
#include <unistd.h>

// glibc >= 2.28 (stdio.h, _GNU_SOURCE only).
extern int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static inline int svirt_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

#include <sys/vfs.h>

// statfs(2)'s f_type for a path, or -1 with errno set: Swift's Glibc module
// does not import <sys/vfs.h>.
static inline long svirt_fs_type(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -1;
    return (long)fs.f_type;
}

// fstatfs(2)'s f_type, or -1 with errno set.
static inline long svirt_fd_fs_type(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return -1;
    return (long)fs.f_type;
}

// fstatfs(2)'s used inodes (f_files - f_ffree), or -1: on error, or when
// the file system keeps no inode count (f_files 0: btrfs, some FUSE).
static inline long long svirt_fd_used_inodes(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0 || fs.f_files == 0 || fs.f_ffree > fs.f_files) return -1;
    unsigned long long used = (unsigned long long)(fs.f_files - fs.f_ffree);
    return used > (unsigned long long)__LONG_LONG_MAX__ ? -1 : (long long)used;
}

#include <string.h>
#include <errno.h>
#include <linux/stat.h>
#include <linux/openat2.h>

// The fields of struct statx the walker reads, copied out of the kernel
// header's struct (its layout is the header's, not hand-counted offsets).
struct svirt_statx {
    unsigned int mask;
    unsigned short mode;
    unsigned long long attributes;
    unsigned long long attributes_mask;
    unsigned long long ino;
    unsigned int dev_major;
    unsigned int dev_minor;
    unsigned long long mnt_id;
    long long ctime_sec;
    unsigned int ctime_nsec;
    long long mtime_sec;
    unsigned int mtime_nsec;
};

// statx(2) by number (glibc declares it only with _GNU_SOURCE): 0, or -1
// with errno set. EINTR is retried by the caller (SVirtSystem).
static inline int svirt_statx(int dir, const char *name, int flags, unsigned int mask, struct svirt_statx *out) {
    struct statx st;
    memset(&st, 0, sizeof st);
    if (syscall(SYS_statx, dir, name, flags, mask, &st) == -1) return -1;
    out->mask = st.stx_mask;
    out->mode = st.stx_mode;
    out->attributes = st.stx_attributes;
    out->attributes_mask = st.stx_attributes_mask;
    out->ino = st.stx_ino;
    out->dev_major = st.stx_dev_major;
    out->dev_minor = st.stx_dev_minor;
    out->mnt_id = st.stx_mnt_id;
    out->ctime_sec = st.stx_ctime.tv_sec;
    out->ctime_nsec = st.stx_ctime.tv_nsec;
    out->mtime_sec = st.stx_mtime.tv_sec;
    out->mtime_nsec = st.stx_mtime.tv_nsec;
    return 0;
}

// openat2(2) by number with the header's struct open_how: the fd, or -1
// with errno set (ENOSYS before 5.6).
static inline int svirt_openat2(int dir, const char *path, unsigned long long flags, unsigned long long resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dir, path, &how, sizeof how);
}

static const unsigned int svirt_statx_type = STATX_TYPE;
static const unsigned int svirt_statx_mtime = STATX_MTIME;
static const unsigned int svirt_statx_ctime = STATX_CTIME;
static const unsigned int svirt_statx_ino = STATX_INO;
static const unsigned int svirt_statx_mnt_id = STATX_MNT_ID;
static const unsigned long long svirt_statx_attr_mount_root = STATX_ATTR_MOUNT_ROOT;
static const unsigned long long svirt_resolve_no_xdev = RESOLVE_NO_XDEV;
static const unsigned long long svirt_resolve_no_magiclinks = RESOLVE_NO_MAGICLINKS;
static const unsigned long long svirt_resolve_no_symlinks = RESOLVE_NO_SYMLINKS;

// syscall(2) is variadic, which Swift cannot call; this fixed form passes
// six integer arguments the way the C compiler would.
static inline long svirt_syscall6(long number, long a, long b, long c, long d, long e, long f) {
    return syscall(number, a, b, c, d, e, f);
}

// System call numbers, from the kernel headers of the architecture being
// built for. Calls newer than Debian 12's headers get their numbers here:
// from 424 on, a call has the same number on every architecture.
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
static const long svirt_sys_setxattr = SYS_setxattr;
static const long svirt_sys_lsetxattr = SYS_lsetxattr;
static const long svirt_sys_fsetxattr = SYS_fsetxattr;
static const long svirt_sys_getxattr = SYS_getxattr;
static const long svirt_sys_lgetxattr = SYS_lgetxattr;
static const long svirt_sys_fgetxattr = SYS_fgetxattr;
static const long svirt_sys_lremovexattr = SYS_lremovexattr;
static const long svirt_sys_fremovexattr = SYS_fremovexattr;
static const long svirt_sys_getdents64 = SYS_getdents64;
static const long svirt_sys_setxattrat = SYS_setxattrat;
static const long svirt_sys_getxattrat = SYS_getxattrat;

#endif
