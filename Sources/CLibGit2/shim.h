#ifndef CLIBGIT2_SHIM_H
#define CLIBGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
/* zlib (libgit2 links it; libgit2-dev depends on zlib1g-dev): crc32 for the packs PackMerge writes. */
#include <zlib.h>
/* git_libgit2_opts() is variadic, which Swift cannot call: wrap the int-valued options. */
static inline int clibgit2_opts_set_int(int option, int value) { return git_libgit2_opts(option, value); }
/* GIT_OPT_SET_CACHE_OBJECT_LIMIT takes (git_object_t, size_t). */
static inline int clibgit2_set_cache_object_limit(git_object_t type, size_t size) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, type, size);
}
/* GIT_OPT_SET_CACHE_MAX_SIZE takes a ssize_t. */
static inline int clibgit2_set_cache_max_size(ssize_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, bytes);
}
#endif
