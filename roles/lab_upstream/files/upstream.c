/*
 * upstream: the misbehaving upstream of the nginx-proxy-lab.
 *
 * One blocking, single-threaded server in one of the five modes of the
 * research write-up:
 *   ok         accept, read the request, write a 200, close
 *   no-accept  listen, never accept (blocks in sigsuspend, no busy loop)
 *   no-read    accept, never read, write or close
 *   no-write   accept, read the request, never write or close
 *   no-close   accept, read, write a 200, never close
 * and two modes of the operator-article labs, where every connection has its
 * own thread, so N requests wait at once:
 *   delay      accept, read the request, answer 200 after --delay-ms, close
 *   keepalive  HTTP/1.1 keep-alive: answer every request on the connection
 *              (after --delay-ms) with a Content-Length, until the peer closes
 *              or a request is HTTP/1.0 or says "Connection: close"
 *
 * With --events PATH it appends one line per event, for the case to count:
 *   <CLOCK_MONOTONIC seconds> accept <conn> <peer pid (SO_PEERCRED), -1 on TCP>
 *   <seconds> first-byte <conn> <request number on the connection>
 *   <seconds> request <conn> <bytes of the request>
 *   <seconds> close <conn> <requests answered on the connection>
 *
 * It prints "ready <backlog>" on stdout once listen() has returned, and on
 * SIGTERM/SIGINT/SIGHUP removes its Unix socket file and exits.
 *
 * On SIGUSR1 the modes that keep their connections (no-read, no-write,
 * no-close) close every one they hold, each with its close event, and go on:
 * the case chooses when the upstream lets go of them (its release), the same
 * moment in every mode, so that when a path line leaves /proc/net/unix is the
 * lab's own doing and not when the upstream happens to exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_OK, MODE_NO_ACCEPT, MODE_NO_READ, MODE_NO_WRITE, MODE_NO_CLOSE, MODE_DELAY, MODE_KEEPALIVE };

static const char *mode_names[] = {"ok", "no-accept", "no-read", "no-write", "no-close", "delay", "keepalive"};
static FILE *events;
static int events_failed;
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;

/* One line of the events file (none without --events); every line is flushed, so a killed upstream keeps them.
 * A line that cannot be written (a full disk) is said once on stderr, which the case reads: its events are
 * incomplete, so the case is not scored. */
static void event(const char *kind, long conn, long value)
{
    if (!events)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&events_lock);
    fprintf(events, "%ld.%06ld %s %ld %ld\n", (long)now.tv_sec, now.tv_nsec / 1000L, kind, conn, value);
    if (fflush(events) == EOF && !events_failed) {
        events_failed = 1;
        fprintf(stderr, "upstream: could not write the events file: %s\n", strerror(errno));
        fflush(stderr);
    }
    pthread_mutex_unlock(&events_lock);
}

static long peer_pid(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
        return -1;
    return (long)cred.pid;
}
static const char *unix_path;
static volatile sig_atomic_t stopping, releasing;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
    if (unix_path)
        unlink(unix_path);
    _exit(0);
}

static void on_release(int sig)
{
    (void)sig;
    releasing = 1;
}

/* The connections a holding mode keeps (no-read, no-write, no-close), closed together on SIGUSR1. */
static struct held { int fd; long conn; long answered; } *held;
static size_t held_n, held_cap;

static void hold(int fd, long conn, long answered)
{
    if (held_n == held_cap) {
        size_t cap = held_cap ? held_cap * 2 : 256;
        struct held *more = realloc(held, cap * sizeof(*held));
        if (!more)
            return; /* kept open, never released: the case sees the line stay */
        held = more;
        held_cap = cap;
    }
    held[held_n++] = (struct held){fd, conn, answered};
}

static void release_held(void)
{
    for (size_t i = 0; i < held_n; i++) {
        event("close", held[i].conn, held[i].answered);
        close(held[i].fd);
    }
    held_n = 0;
    releasing = 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: upstream --mode MODE (--unix PATH | --tcp HOST:PORT) [--backlog N]\n"
            "                [--content-length] [--body TEXT] [--delay-ms N] [--events PATH]\n"
            "  MODE: ok | no-accept | no-read | no-write | no-close | delay | keepalive\n"
            "  --backlog N        listen() backlog (the kernel caps it at net.core.somaxconn); default 4096\n"
            "  --content-length   add a Content-Length header (the research sent none)\n"
            "  --body TEXT        response body; default \"ok\\n\"\n"
            "  --delay-ms N       delay and keepalive modes: milliseconds between reading a request and answering;\n"
            "                     default 1000 (delay), 0 (keepalive)\n"
            "  --events PATH      append a line per accept, first byte, request and close to PATH\n");
}

static int parse_mode(const char *s)
{
    for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (strcmp(s, mode_names[i]) == 0)
            return (int)i;
    return -1;
}

static int listen_unix(const char *path, int backlog)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "upstream: socket path longer than %zu bytes: %s\n", sizeof(addr.sun_path) - 1, path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("upstream: socket");
        return -1;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("upstream: bind");
        return -1;
    }
    unix_path = path;
    chmod(path, 0666);
    if (listen(fd, backlog) < 0) {
        perror("upstream: listen");
        return -1;
    }
    return fd;
}

static int listen_tcp(const char *hostport, int backlog)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
        fprintf(stderr, "upstream: --tcp wants HOST:PORT, got %s\n", hostport);
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "upstream: not an IPv4 address: %s\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        perror("upstream: socket");
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, backlog) < 0) {
        perror("upstream: bind/listen");
        return -1;
    }
    return fd;
}

struct request {
    int complete;   /* the whole header block and announced body arrived */
    int keep_alive; /* HTTP/1.1 without "Connection: close" */
};

/* Read one HTTP request of connection `conn` (its `number`-th): the header block and, when announced, a
   Content-Length body; logs its first byte and its end. */
static struct request read_request(int fd, long conn, long number)
{
    char buf[65536];
    size_t have = 0;
    long body_left = -1, total = 0;
    struct request r = {0, 0};
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have - 1);
        if (n <= 0)
            return r;
        if (total == 0)
            event("first-byte", conn, number);
        total += n;
        if (body_left >= 0) {
            body_left -= n;
            if (body_left <= 0)
                break;
            continue;
        }
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) {
            if (have >= sizeof(buf) - 1)
                return r;
            continue;
        }
        *end = '\0';
        char *line_end = strstr(buf, "\r\n");
        r.keep_alive = line_end && line_end - buf >= 8 && strncmp(line_end - 8, "HTTP/1.1", 8) == 0 &&
                       !strcasestr(buf, "\r\nconnection: close");
        long length = 0;
        char *cl = strcasestr(buf, "\r\ncontent-length:");
        if (cl)
            length = strtol(cl + 17, NULL, 10);
        body_left = length - (long)(have - (size_t)(end + 4 - buf));
        if (body_left <= 0)
            break;
        have = 0;
    }
    r.complete = 1;
    event("request", conn, total);
    return r;
}

static void write_response(int fd, int content_length, const char *body)
{
    char head[256];
    int n;
    if (content_length > 1) /* keepalive mode: HTTP/1.1, and "Connection: close" when this is the last answer */
        n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
                     strlen(body), content_length == 3 ? "Connection: close\r\n" : "");
    else if (content_length)
        n = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
                     strlen(body));
    else
        n = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
        perror("upstream: write");
}

struct delayed {
    int fd;
    long conn;
    int keepalive;
    long delay_ms;
    int content_length;
    const char *body;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* delay mode: one thread per connection reads, sleeps, answers and closes.
   keepalive mode: the same for every request of the connection, until it is the last. */
static void *serve_delayed(void *arg)
{
    struct delayed *d = arg;
    long answered = 0;
    for (;;) {
        struct request r = read_request(d->fd, d->conn, answered + 1);
        if (!r.complete)
            break;
        if (d->delay_ms > 0)
            sleep_ms(d->delay_ms);
        if (!d->keepalive) {
            write_response(d->fd, d->content_length, d->body);
            answered++;
            break;
        }
        write_response(d->fd, r.keep_alive ? 2 : 3, d->body);
        answered++;
        if (!r.keep_alive)
            break;
    }
    event("close", d->conn, answered);
    close(d->fd);
    free(d);
    return NULL;
}

static void start_delayed(int fd, long conn, int keepalive, long delay_ms, int content_length, const char *body)
{
    struct delayed *d = malloc(sizeof(*d));
    pthread_t thread;
    pthread_attr_t attr;
    if (!d) {
        close(fd);
        return;
    }
    *d = (struct delayed){.fd = fd, .conn = conn, .keepalive = keepalive, .delay_ms = delay_ms,
                           .content_length = content_length, .body = body};
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024); /* read_request keeps 64 KB on the stack */
    if (pthread_create(&thread, &attr, serve_delayed, d) != 0) {
        perror("upstream: pthread_create");
        close(fd);
        free(d);
    }
    pthread_attr_destroy(&attr);
}

int main(int argc, char **argv)
{
    int mode = -1, backlog = 4096, content_length = 0;
    long delay_ms = -1, conn = 0;
    const char *unix_arg = NULL, *tcp_arg = NULL, *body = "ok\n", *events_arg = NULL;
    static const struct option opts[] = {
        {"mode", required_argument, 0, 'm'},   {"unix", required_argument, 0, 'u'},
        {"tcp", required_argument, 0, 't'},    {"backlog", required_argument, 0, 'b'},
        {"content-length", no_argument, 0, 'c'}, {"body", required_argument, 0, 'B'},
        {"delay-ms", required_argument, 0, 'd'}, {"events", required_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "m:u:t:b:cB:d:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mode = parse_mode(optarg); break;
        case 'u': unix_arg = optarg; break;
        case 't': tcp_arg = optarg; break;
        case 'b': backlog = atoi(optarg); break;
        case 'c': content_length = 1; break;
        case 'B': body = optarg; break;
        case 'd': delay_ms = atol(optarg); break;
        case 'e': events_arg = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (mode < 0 || (!unix_arg == !tcp_arg) || (delay_ms < 0 && delay_ms != -1)) {
        usage(stderr);
        return 2;
    }
    if (delay_ms == -1)
        delay_ms = mode == MODE_KEEPALIVE ? 0 : 1000;
    if (events_arg && !(events = fopen(events_arg, "a"))) {
        perror("upstream: --events");
        return 1;
    }

    /* no-read/no-write/no-close keep every accepted descriptor open. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct sigaction release = {.sa_handler = on_release}; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGUSR1, &release, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = unix_arg ? listen_unix(unix_arg, backlog) : listen_tcp(tcp_arg, backlog);
    if (lfd < 0)
        return 1;
    printf("ready %d\n", backlog);
    fflush(stdout);

    if (mode == MODE_NO_ACCEPT) {
        sigset_t none;
        sigemptyset(&none);
        while (!stopping)
            sigsuspend(&none);
        return 0;
    }
    while (!stopping) {
        if (releasing)
            release_held();
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: stop accepting, as a full server would, without spinning. */
                pause();
                continue;
            }
            perror("upstream: accept");
            continue;
        }
        event("accept", ++conn, peer_pid(fd));
        if (mode == MODE_NO_READ) {
            hold(fd, conn, 0);
            continue;
        }
        if (mode == MODE_DELAY || mode == MODE_KEEPALIVE) {
            start_delayed(fd, conn, mode == MODE_KEEPALIVE, delay_ms, content_length, body);
            continue;
        }
        read_request(fd, conn, 1);
        if (mode == MODE_NO_WRITE) {
            hold(fd, conn, 0);
            continue;
        }
        write_response(fd, content_length, body);
        if (mode == MODE_OK) {
            event("close", conn, 1);
            close(fd);
        } else {
            hold(fd, conn, 1);
        }
    }
    return 0;
}
