// The version `svirt-hook --version` prints, injected at compile time.
//
// Why a C file and not generated Swift: Package.swift turns the make-time
// SVIRT_VERSION and SVIRT_GIT_COMMIT environment into -D defines of this one
// target, so a new commit recompiles this file and relinks, and nothing else:
// Swift's -D takes no values, and -Xcc -D or -Xswiftc flags would reach
// every module and rebuild them all. Nothing is generated into the tree, so
// `git status` stays clean after `make`. A plain `swift build` (no make, no
// environment) gets the fallback below; a test checks it equals VERSION.
#include "svirt_version.h"

#ifndef SVIRT_VERSION
#define SVIRT_VERSION "0.9.0"
#endif
#ifndef SVIRT_GIT_COMMIT
#define SVIRT_GIT_COMMIT ""
#endif

const char *svirt_version(void) { return SVIRT_VERSION; }
const char *svirt_git_commit(void) { return SVIRT_GIT_COMMIT; }
