/*
 * The two system calls Node 20 does not offer and a worker node needs (N-API, Linux):
 *   execve(file, argv[], env[])      replace this process's image, same pid (HUP = restart in place,
 *                                    as Celery's os.execv); returns only by throwing, with errno.
 *   setParentDeathSignal(signo)      prctl(PR_SET_PDEATHSIG): a pool child gets `signo` when its node
 *                                    dies, even kill -9, even if its event loop is stuck in a task.
 *                                    Returns false if the parent had already gone (ppid changed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define CHECK(env, call)                                               \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error((env), "TASKQ_INTERNAL", "N-API call failed: " #call); \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

static char *string_arg(napi_env env, napi_value value) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *buf = malloc(len + 1);
  if (!buf) return NULL;
  if (napi_get_value_string_utf8(env, value, buf, len + 1, &len) != napi_ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* A NULL-terminated copy of a JS array of strings; NULL (with an exception pending) on failure. */
static char **string_array(napi_env env, napi_value array) {
  uint32_t n = 0;
  if (napi_get_array_length(env, array, &n) != napi_ok) {
    napi_throw_type_error(env, "TASKQ_INTERNAL", "expected an array of strings");
    return NULL;
  }
  char **out = calloc(n + 1, sizeof(char *));
  if (!out) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    if (napi_get_element(env, array, i, &item) != napi_ok || !(out[i] = string_arg(env, item))) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      napi_throw_type_error(env, "TASKQ_INTERNAL", "expected an array of strings");
      return NULL;
    }
  }
  return out;
}

static void free_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

static napi_value do_execve(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, "TASKQ_INTERNAL", "execve(file, argv, env)");
    return NULL;
  }
  char *file = string_arg(env, args[0]);
  char **argv = file ? string_array(env, args[1]) : NULL;
  char **envp = argv ? string_array(env, args[2]) : NULL;
  if (file && argv && envp) {
    /* Node blocks no signals in the main thread, but start the new image with none blocked. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Keep stdio across the exec, blocking as a new process expects it (Node may have marked them
       close-on-exec or non-blocking); every other descriptor Node and libuv open is close-on-exec. */
    for (int fd = 0; fd <= 2; fd++) {
      int fdflags = fcntl(fd, F_GETFD);
      if (fdflags >= 0) fcntl(fd, F_SETFD, fdflags & ~FD_CLOEXEC);
      int flflags = fcntl(fd, F_GETFL);
      if (flflags >= 0) fcntl(fd, F_SETFL, flflags & ~O_NONBLOCK);
    }
    execve(file, argv, envp);
  }
  int err = errno;
  free(file);
  free_array(argv);
  free_array(envp);
  char msg[256];
  snprintf(msg, sizeof msg, "execve failed: %s", strerror(err));
  napi_throw_error(env, "TASKQ_INTERNAL", msg);
  return NULL;
}

static napi_value set_parent_death_signal(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  int32_t signo = 0, expected_ppid = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  CHECK(env, napi_get_value_int32(env, args[0], &signo));
  if (argc > 1) CHECK(env, napi_get_value_int32(env, args[1], &expected_ppid));
  if (prctl(PR_SET_PDEATHSIG, signo) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "prctl(PR_SET_PDEATHSIG) failed: %s", strerror(errno));
    napi_throw_error(env, "TASKQ_INTERNAL", msg);
    return NULL;
  }
  napi_value result;
  /* The parent may have died before the prctl: then no signal will come. */
  CHECK(env, napi_get_boolean(env, expected_ppid == 0 || getppid() == expected_ppid, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"execve", NULL, do_execve, NULL, NULL, NULL, napi_default, NULL},
      {"setParentDeathSignal", NULL, set_parent_death_signal, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, 2, props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
