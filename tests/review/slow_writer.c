// One pwrite() whose data lands long after its time stamps were set: the
// kernel sets mtime/ctime when a write starts, then copies the caller's
// buffer page by page. The buffer's second half is registered with
// userfaultfd, so the write copies the first half and then waits (inside the
// syscall) until "go" arrives on stdin, or MS milliseconds passed.
// Usage: slow_writer FILE BYTE [MS [direct]] ("direct": the write is O_DIRECT).
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fd;
static char *buf;
static size_t size;
static ssize_t wrote = -2;

static void *writer(void *arg) {
  (void)arg;
  wrote = pwrite(fd, buf, size, 0);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) return 2;
  int wait_ms = argc >= 4 ? atoi(argv[3]) : -1;
  int direct = argc == 5 && strcmp(argv[4], "direct") == 0;
  fd = open(argv[1], O_WRONLY | (direct ? O_DIRECT : 0));
  if (fd < 0) { perror("open"); return 1; }
  struct stat st;
  fstat(fd, &st);
  size = st.st_size;
  long page = sysconf(_SC_PAGESIZE);
  size_t half = (size / 2) & ~(size_t)(page - 1);
  int byte = atoi(argv[2]);
  buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(buf, byte, half); // the first half is there; the rest faults
  int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (uffd < 0) { perror("userfaultfd"); return 1; }
  struct uffdio_api api = {.api = UFFD_API};
  if (ioctl(uffd, UFFDIO_API, &api)) { perror("UFFDIO_API"); return 1; }
  struct uffdio_register reg = {
      .range = {.start = (unsigned long)buf + half, .len = size - half},
      .mode = UFFDIO_REGISTER_MODE_MISSING};
  if (ioctl(uffd, UFFDIO_REGISTER, &reg)) { perror("UFFDIO_REGISTER"); return 1; }
  pthread_t t;
  pthread_create(&t, NULL, writer, NULL);
  char *fill = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(fill, byte, page);
  int announced = 0;
  for (;;) {
    struct pollfd p = {.fd = uffd, .events = POLLIN};
    int n = poll(&p, 1, announced ? 50 : 10000);
    if (n == 0) {
      if (wrote != -2) break;
      if (!announced) { fprintf(stderr, "no fault\n"); return 1; }
      continue;
    }
    struct uffd_msg msg;
    if (read(uffd, &msg, sizeof msg) != sizeof msg) continue;
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    if (!announced) {
      printf("blocked\n");
      fflush(stdout);
      struct pollfd in = {.fd = 0, .events = POLLIN};
      if (poll(&in, 1, wait_ms) < 0) return 1;
      announced = 1;
    }
    struct uffdio_copy c = {
        .dst = msg.arg.pagefault.address & ~(unsigned long)(page - 1),
        .src = (unsigned long)fill, .len = page};
    if (ioctl(uffd, UFFDIO_COPY, &c)) perror("UFFDIO_COPY");
    if (getenv("SW_DEBUG")) fprintf(stderr, "copied %lx\n", (unsigned long)c.dst);
  }
  pthread_join(t, NULL);
  if (wrote != (ssize_t)size) { fprintf(stderr, "short write %zd\n", wrote); return 1; }
  printf("done\n");
  fflush(stdout);
  return 0;
}
