#ifndef CLIBGIT2_SHIM_H
#define CLIBGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
/* git_libgit2_opts() is variadic, which Swift cannot call: wrap the int-valued options. */
static inline int clibgit2_opts_set_int(int option, int value) { return git_libgit2_opts(option, value); }
#endif
