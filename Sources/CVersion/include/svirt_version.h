#ifndef SVIRT_VERSION_H
#define SVIRT_VERSION_H

/// The release (VERSION) and, when built by make from a git checkout, the
/// commit ("3cb7d12", "3cb7d12-dirty"), or "" when unknown. Both are fixed
/// at compile time: see version.c.
const char *svirt_version(void);
const char *svirt_git_commit(void);

#endif
