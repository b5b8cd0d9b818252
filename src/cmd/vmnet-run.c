/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmnet-run [--unprivileged] [helper options] -- COMMAND...
 * (also installed as vmnet-client, the spec's name; the same program)
 * Joins vmnet-helper (fd 3) and COMMAND (fd 4) with a socketpair (datagram,
 * or stream with --socket-type stream: the helper finds out which by itself),
 * starts COMMAND once the helper printed its JSON line, forwards SIGTERM,
 * SIGINT and SIGHUP to COMMAND, stops the helper when COMMAND exits and exits
 * with COMMAND's status. Not root, it starts the helper as itself when
 * vmnet-broker's socket exists (the helper then asks the broker:
 * client/brokerclient.h), through sudo otherwise. The helper follows it
 * (PR_SET_PDEATHSIG): killed, even by SIGKILL, the VM's network goes too.
 * --socket-type vhost-user: QEMU's vhost-user frontend takes no descriptor,
 * only a path. vmnet-run makes a directory only the user can enter
 * ($XDG_RUNTIME_DIR or /tmp, vmnet-run.XXXXXX, mode 0700), has the helper
 * bind vhost-user.sock in it (--socket; through the broker, the user's side
 * binds it as the user), and gives COMMAND the path: in place of {socket}
 * in its arguments, and as $VMNET_SOCKET. The directory goes when vmnet-run
 * exits. Runs as the invoking user, with no privilege.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/options.h"
#include "common/privileges.h"
#include "common/version.h"

#define HELPER_FD 3
#define COMMAND_FD 4
#define MAX_ARGS 64
/* vhost-user: what COMMAND's arguments name the socket by. */
#define SOCKET_PLACEHOLDER "{socket}"
#define SOCKET_ENV "VMNET_SOCKET"
#define SOCKET_NAME "vhost-user.sock"

struct client {
	const char *name;          /* vmnet-run or vmnet-client, as invoked */
	bool unprivileged;
	int socket_type;           /* of the socketpair: SOCK_DGRAM or SOCK_STREAM */
	bool vhost_user;           /* --socket-type vhost-user: a path, not a socketpair */
	char dir[PATH_MAX];        /* vhost-user: our directory, "" if none */
	char path[PATH_MAX + 32];  /* vhost-user: the socket in it */
	char socket_arg[PATH_MAX + 48];
	char **command_owned;      /* vhost-user: COMMAND's arguments, {socket} replaced */
	char helper[PATH_MAX];
	char *helper_argv[MAX_ARGS + 8];
	int helper_argc;
	char **command;
	sigset_t old_mask;
	pid_t helper_pid, command_pid;
};

static void usage(const struct client *cl, FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] -- COMMAND [ARG...]\n"
		"\n"
		"Runs COMMAND with a network interface: vmnet-helper and COMMAND joined by a\n"
		"unix socketpair, the helper on fd 3, COMMAND on fd 4. Prints the\n"
		"helper's JSON line, then starts COMMAND; forwards SIGTERM, SIGINT and SIGHUP\n"
		"to it, stops the helper when it exits and exits with its status.\n"
		"\n"
		"Interface options, passed to vmnet-helper (see vmnet-helper --help):\n"
		"  --interface-id UUID, --operation-mode shared|host|bridged,\n"
		"  --start-address ADDR, --end-address ADDR, --subnet-mask MASK,\n"
		"  --network NAME (a named network: shared, host or the administrator's;\n"
		"  not with --operation-mode, --shared-interface or the address options),\n"
		"  --shared-interface NAME, --enable-isolation, --mtu MTU, --enable-tso,\n"
		"  --enable-checksum-offload, --stats-interval SECONDS, -v, --verbose,\n"
		"  --pcap FILE (every frame into FILE, made as you), --pcap-size MB,\n"
		"  --pcap-files N, and any other vmnet-helper option except --fd and --socket.\n"
		"\n"
		"Options of %s itself:\n"
		"  --socket-type dgram|stream|vhost-user\n"
		"                   the socketpair: dgram (default), one frame per datagram\n"
		"                   (QEMU -netdev dgram,local.type=fd,local.str=4); stream,\n"
		"                   each frame behind its 4-byte big-endian length (QEMU\n"
		"                   -netdev stream,server=off,addr.type=fd,addr.str=4);\n"
		"                   vhost-user: no socketpair but a socket path, in a new\n"
		"                   directory only you can enter ($XDG_RUNTIME_DIR or /tmp),\n"
		"                   given to COMMAND in place of " SOCKET_PLACEHOLDER " in its\n"
		"                   arguments and as $" SOCKET_ENV " (QEMU -chardev\n"
		"                   socket,id=c0,path=" SOCKET_PLACEHOLDER " -netdev vhost-user,id=n0,\n"
		"                   chardev=c0, with the guest's memory shared: -object\n"
		"                   memory-backend-memfd,id=mem,size=...,share=on -numa\n"
		"                   node,memdev=mem)\n"
		"  --unprivileged   run the helper without sudo even when not root\n"
		"  -h, --help       show this help\n"
		"      --version    show the version\n"
		"\n"
		"When not root, the helper asks vmnet-broker for its network if the broker's\n"
		"socket exists (" VMNET_BROKER_SOCKET ", or $VMNET_BROKER_SOCKET;\n"
		"the user must be in its group), and otherwise runs through sudo\n"
		"--non-interactive --close-from=4 (a sudoers rule with NOPASSWD and\n"
		"closefrom_override).\n"
		"vmnet-run and vmnet-client are the same program.\n", cl->name, cl->name);
}

static void fail(const char *fmt, const char *arg)
{
	char line[512];

	snprintf(line, sizeof(line), fmt, arg);
	ERROR("client", "%s", line);
	exit(EXIT_FAILURE);
}

static void find_helper(struct client *cl)
{
	const char *env = getenv("VMNET_HELPER");
	char self[PATH_MAX - 16];
	ssize_t n;

	if (env && *env) {
		snprintf(cl->helper, sizeof(cl->helper), "%s", env);
		return;
	}
	/* The helper installed beside us: the pair is always used together. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		fail("cannot find vmnet-helper: %s", strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(cl->helper, sizeof(cl->helper), "%s/vmnet-helper", self);
}

static void push(struct client *cl, char *arg)
{
	if (cl->helper_argc >= MAX_ARGS + 7)
		fail("too many arguments%s", "");
	cl->helper_argv[cl->helper_argc++] = arg;
	cl->helper_argv[cl->helper_argc] = NULL;
}

/*
 * Validates the helper options with the helper's own parser, so every helper
 * option passes through as it is, and acts on --help and --version wherever
 * and however they were written (-vh, --vers).
 */
static void validate(struct client *cl, int first)
{
	struct options o;
	char err[256];
	int argc = cl->helper_argc - first + 1;
	char **argv = &cl->helper_argv[first - 1];

	if (options_parse(&o, argc, argv, err, sizeof(err)) < 0)
		fail("%s", err);
	if (o.help) {
		usage(cl, stdout);
		exit(0);
	}
	if (o.version) {
		version_print(stdout, cl->name);
		exit(0);
	}
	if (o.list_shared_interfaces)
		fail("%s", "--list-shared-interfaces is a vmnet-helper option: run vmnet-helper "
		     "--list-shared-interfaces");
	log_set_verbose(o.verbose);
}

/* Our name as invoked: messages and --version say vmnet-run or vmnet-client. */
static const char *program_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "vmnet-client") == 0 ? "vmnet-client" : "vmnet-run";
}

static void set_socket_type(struct client *cl, const char *value)
{
	if (value == NULL)
		fail("%s", "option --socket-type requires an argument");
	if (!strcmp(value, "dgram"))
		cl->socket_type = SOCK_DGRAM;
	else if (!strcmp(value, "stream") || !strcmp(value, "vhost-user"))
		cl->socket_type = SOCK_STREAM;
	else
		fail("invalid --socket-type \"%s\": expected dgram, stream or vhost-user", value);
	cl->vhost_user = !strcmp(value, "vhost-user");
}

/* Options of the client itself, taken out before the helper's are checked;
 * *i moves past an option's separate argument. */
static bool client_option(struct client *cl, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];

	if (!strcmp(arg, "--unprivileged")) {
		cl->unprivileged = true;
		return true;
	}
	if (!strncmp(arg, "--socket-type=", 14)) {
		set_socket_type(cl, arg + 14);
		return true;
	}
	if (!strcmp(arg, "--socket-type")) {
		bool has = *i + 1 < argc && strcmp(argv[*i + 1], "--") != 0;
		set_socket_type(cl, has ? argv[++*i] : NULL);
		return true;
	}
	return false;
}

/* vmnet-broker's socket is there: the helper asks the broker, no sudo. */
static bool broker_available(void)
{
	const char *env = getenv("VMNET_BROKER_SOCKET");
	struct stat st;

	return lstat(env && *env ? env : VMNET_BROKER_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void parse_args(struct client *cl, int argc, char **argv)
{
	int i, first;

	cl->name = program_name(argc > 0 ? argv[0] : "vmnet-run");
	find_helper(cl);
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		client_option(cl, argc, argv, &i);
	if (geteuid() != 0 && !cl->unprivileged && !broker_available()) {
		push(cl, "sudo");
		push(cl, "--non-interactive");
		push(cl, "--close-from=4");
	}
	push(cl, cl->helper);
	first = cl->helper_argc;
	if (cl->vhost_user) {
		/* The real path once the directory exists (make_socket_dir): this
		 * one only lets the helper's parser check the rest. */
		snprintf(cl->socket_arg, sizeof(cl->socket_arg), "--socket=/vmnet-run/" SOCKET_NAME);
		push(cl, cl->socket_arg);
		push(cl, "--socket-type=vhost-user");
	} else {
		push(cl, "--fd=3");
	}
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (client_option(cl, argc, argv, &i))
			continue;
		if (!strncmp(argv[i], "--fd", 4) || !strncmp(argv[i], "--socket", 8)) {
			char line[160];
			snprintf(line, sizeof(line), "%s is set by %s; do not pass it", argv[i], cl->name);
			fail("%s", line);
		}
		push(cl, argv[i]);
	}
	validate(cl, first);
	if (i >= argc || i + 1 >= argc) {
		char line[160];
		snprintf(line, sizeof(line), "missing COMMAND: use %s [OPTIONS] -- COMMAND [ARG...]",
			 cl->name);
		fail("%s", line);
	}
	cl->command = &argv[i + 1];
}

/* Moves fd to target (clearing close-on-exec) and closes every other fd
 * above stderr; fd -1: keeps none. */
static void keep_only(int fd, int target)
{
	if (fd < 0) {
		close_range(3, ~0U, 0);
		return;
	}
	if (dup2(fd, target) < 0)
		_exit(127);
	close_range(3, (unsigned)target - 1, 0);
	close_range((unsigned)target + 1, ~0U, 0);
}

/* vhost-user: a directory only we can enter, for the helper's socket. */
static void make_socket_dir(struct client *cl)
{
	const char *bases[] = { getenv("XDG_RUNTIME_DIR"), "/tmp" };

	for (size_t i = 0; i < 2 && !cl->dir[0]; i++) {
		if (!bases[i] || bases[i][0] != '/')
			continue;
		snprintf(cl->dir, sizeof(cl->dir), "%s/vmnet-run.XXXXXX", bases[i]);
		if (!mkdtemp(cl->dir))
			cl->dir[0] = '\0';
	}
	if (!cl->dir[0])
		fail("cannot make a directory for the vhost-user socket: %s", strerror(errno));
	snprintf(cl->path, sizeof(cl->path), "%s/" SOCKET_NAME, cl->dir);
	if (strlen(cl->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		rmdir(cl->dir);
		fail("socket path too long: %s (set XDG_RUNTIME_DIR to a shorter directory)",
		     cl->path);
	}
	snprintf(cl->socket_arg, sizeof(cl->socket_arg), "--socket=%s", cl->path);
}

/* The helper has removed its files when it stopped; whatever a helper
 * that was killed left in our directory goes with it. */
static void remove_socket_dir(struct client *cl)
{
	char lock[PATH_MAX + 40];

	if (!cl->dir[0])
		return;
	snprintf(lock, sizeof(lock), "%s.lock", cl->path);
	unlink(cl->path);
	unlink(lock);
	if (rmdir(cl->dir) < 0)
		WARN("client", "cannot remove %s: %s", cl->dir, strerror(errno));
	cl->dir[0] = '\0';
}

/* arg with every {socket} replaced by path, allocated. */
static char *substitute(const char *arg, const char *path)
{
	size_t plen = strlen(SOCKET_PLACEHOLDER), len = 1, off = 0;
	const char *p;
	char *out;

	for (p = arg; *p;) {
		if (strncmp(p, SOCKET_PLACEHOLDER, plen) == 0) {
			len += strlen(path);
			p += plen;
		} else {
			len++;
			p++;
		}
	}
	out = malloc(len);
	if (!out)
		fail("%s", "out of memory");
	for (p = arg; *p;) {
		if (strncmp(p, SOCKET_PLACEHOLDER, plen) == 0) {
			for (const char *v = path; *v; v++)
				out[off++] = *v;
			p += plen;
		} else {
			out[off++] = *p++;
		}
	}
	out[off] = '\0';
	return out;
}

/* COMMAND's arguments with every {socket} replaced by the socket's path. */
static char **command_argv(struct client *cl, char **argv)
{
	size_t n = 0;
	char **out;

	while (argv[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		fail("%s", "out of memory");
	for (size_t i = 0; i < n; i++)
		out[i] = substitute(argv[i], cl->path);
	return out;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static pid_t spawn(struct client *cl, char **argv, int fd, int target, int out_fd)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	/* The helper follows us (COMMAND is the user's to manage): SIGTERM, its
	 * graceful stop, when we die, SIGKILL included. A set-user-ID exec (sudo)
	 * clears it: the helper then watches the process that ran sudo itself. */
	if (out_fd >= 0 && (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != parent))
		_exit(127);
	sigprocmask(SIG_SETMASK, &cl->old_mask, NULL);
	if (target == COMMAND_FD && cl->vhost_user && setenv(SOCKET_ENV, cl->path, 1) < 0)
		_exit(127);
	if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	keep_only(fd, target);
	execvp(argv[0], argv);
	fprintf(stderr, "ERROR [client] cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Relays the helper's JSON line; false if the helper exited without one. */
static bool relay_json(int fd)
{
	char buf[4096];
	size_t len = 0;

	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	return true;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_FAILURE;
}

static int wait_pid(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* The helper exited without its JSON line. One that exits non-zero has
 * said why on our stderr already (the helper's line, the broker's refusal,
 * sudo's, or spawn's "cannot run"): a second line would only repeat it.
 * Only a helper that said nothing (killed, or 0 without a line) gets one. */
static void helper_failed(pid_t pid)
{
	int status;

	if (pid < 0) {
		ERROR("client", "cannot start vmnet-helper: fork: %s", strerror(errno));
		return;
	}
	status = wait_pid(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return;
	if (WIFSIGNALED(status))
		ERROR("client", "vmnet-helper was killed by signal %d before it started",
		      WTERMSIG(status));
	else
		ERROR("client", "vmnet-helper exited without printing its JSON line");
}

/* Forwards signals to COMMAND until it exits; returns its wait status. */
static int supervise(struct client *cl, int sfd)
{
	int status = 0;

	for (;;) {
		struct signalfd_siginfo si;
		pid_t pid;

		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return status;
		}
		if (si.ssi_signo != SIGCHLD) {
			kill(cl->command_pid, (int)si.ssi_signo);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == cl->command_pid)
				return status;
			if (pid == cl->helper_pid) {
				WARN("client", "vmnet-helper exited (status %d)", exit_code(status));
				cl->helper_pid = -1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct client cl = { .helper_pid = -1, .command_pid = -1, .socket_type = SOCK_DGRAM };
	int sv[2], out[2], sfd, status;
	sigset_t mask;

	/* Nothing inherited reaches the helper or COMMAND through us, and
	 * nothing we open can land on a closed stdin/stdout/stderr. */
	status = priv_close_inherited(NULL, 0);
	if (status < 0)
		fail("cannot close inherited descriptors: %s", strerror(-status));
	parse_args(&cl, argc, argv);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &cl.old_mask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	sv[0] = sv[1] = -1;
	if (sfd < 0 || (!cl.vhost_user && socketpair(AF_UNIX, cl.socket_type | SOCK_CLOEXEC, 0,
						    sv) < 0) ||
	    pipe2(out, O_CLOEXEC) < 0)
		fail("cannot create sockets: %s", strerror(errno));
	if (cl.vhost_user) {
		make_socket_dir(&cl);
		cl.command = cl.command_owned = command_argv(&cl, cl.command);
	}

	cl.helper_pid = spawn(&cl, cl.helper_argv, sv[0], HELPER_FD, out[1]);
	close(out[1]);
	if (sv[0] >= 0)
		close(sv[0]);
	if (cl.helper_pid < 0 || !relay_json(out[0])) {
		helper_failed(cl.helper_pid);
		remove_socket_dir(&cl);
		free_argv(cl.command_owned);
		return EXIT_FAILURE;
	}
	close(out[0]);

	cl.command_pid = spawn(&cl, cl.command, sv[1], COMMAND_FD, -1);
	if (sv[1] >= 0)
		close(sv[1]);
	if (cl.command_pid < 0)
		fail("fork: %s", strerror(errno));
	status = supervise(&cl, sfd);
	if (cl.helper_pid > 0) {
		kill(cl.helper_pid, SIGTERM);
		wait_pid(cl.helper_pid);
	}
	remove_socket_dir(&cl);
	free_argv(cl.command_owned);
	return exit_code(status);
}
