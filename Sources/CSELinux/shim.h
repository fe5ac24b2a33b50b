#ifndef SVIRT_CSELINUX_SHIM_H
#define SVIRT_CSELINUX_SHIM_H
// Only the libselinux entry points svirt-hook uses; the _raw variants keep
// levels untranslated where mcstrans runs.
#include <selinux/selinux.h>
#endif
