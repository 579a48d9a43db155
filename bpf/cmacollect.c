// SPDX-License-Identifier: GPL-2.0
/*
 * cmacollect: run cmalat, cmafail and cmamigrate together for the length of
 * a command (or a time, or until Ctrl-C) and write one JSON document of
 * schema cmakit.bpf/1.0 (docs/bpf.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "helpers.h"

#define SCHEMA "cmakit.bpf/1.0"
#define READY_TIMEOUT_MS 120000 /* loading is slow on an emulated board */

static struct env {
	const char *output;
	bool ms;
	bool records;
	int64_t duration;
	char **command;
} env;

static const char doc[] =
	"Run cmalat, cmafail and cmamigrate together and write one JSON document\n"
	"(schema " SCHEMA ", see docs/bpf.md) for the run.\n"
	"\n"
	"USAGE: cmacollect [-h] [-o FILE] [-d SEC] [-m] [-r] [-p PID] [-P PATH]\n"
	"                  [--stock] [-v] [-- COMMAND [ARG...]]\n"
	"\n"
	"EXAMPLES:\n"
	"    cmacollect -o bpf.json -- cmabench run   # trace for the length of a command\n"
	"    cmacollect -d 30 -o bpf.json             # trace for 30 seconds\n"
	"    cmacollect -r -- ./workload              # with one record per allocation\n"
	"    cmacollect --stock -- ./workload         # on the stock events only\n";

static const struct argp_option opts[] = {
	{ "output", 'o', "FILE", 0,
	  "Write the document to FILE (default stdout)", 0 },
	{ "duration", 'd', "SEC", 0,
	  "Trace for SEC seconds (without a command)", 0 },
	{ "milliseconds", 'm', NULL, 0,
	  "Millisecond histograms (default microseconds)", 0 },
	{ "records", 'r', NULL, 0,
	  "Include cmamigrate's per-allocation records", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	const struct tool_flag flags[] = {
		{ 'm', &env.ms },
		{ 'r', &env.records },
		{},
	};

	if (set_tool_flag(flags, key))
		return 0;
	switch (key) {
	case 'o':
		env.output = arg;
		break;
	case 'd':
		parse_num_arg("duration", arg, MAX_SECONDS, state,
			      &env.duration);
		break;
	case ARGP_KEY_ARG:
		/* the command and its arguments, untouched */
		env.command = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct tool_cli cli = { "cmacollect", ALL_PATHS, false,
				     opts,	   parse_arg, doc };

struct tool {
	const char *name;
	pid_t pid;
	int ready_fd;
	FILE *out;
	int status;
};

static struct tool tools[] = {
	{ .name = "cmalat" },
	{ .name = "cmafail" },
	{ .name = "cmamigrate" },
};

/* The tools live next to us. */
static int tool_path(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (snprintf(buf, len, "%s/%s", self, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* -P as given: "auto" or a path's name */
static const char *path_requested(void)
{
	return tool_opts.path == PATH_NONE ? "auto" : path_name(tool_opts.path);
}

static int start_tool(struct tool *t)
{
	char path[PATH_MAX], fdstr[16], pidstr[16];
	const char *argv[12];
	int pipefd[2], argc = 0, err;

	err = tool_path(t->name, path, sizeof(path));
	if (err)
		return err;
	t->out = tmpfile();
	if (!t->out || pipe(pipefd))
		return -errno;
	argv[argc++] = t->name;
	argv[argc++] = "-j";
	argv[argc++] = "-P";
	argv[argc++] = path_requested();
	if (tool_opts.pid) {
		snprintf(pidstr, sizeof(pidstr), "%lld",
			 (long long)tool_opts.pid);
		argv[argc++] = "-p";
		argv[argc++] = pidstr;
	}
	if (verbose)
		argv[argc++] = "-v";
	if (env.ms && strcmp(t->name, "cmafail"))
		argv[argc++] = "-m";
	if (env.records && !strcmp(t->name, "cmamigrate"))
		argv[argc++] = "-r";
	argv[argc] = NULL;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (!t->pid) {
		close(pipefd[0]);
		snprintf(fdstr, sizeof(fdstr), "%d", pipefd[1]);
		setenv("CMAKIT_READY_FD", fdstr, 1);
		dup2(fileno(t->out), STDOUT_FILENO);
		/* Ctrl-C reaches the tools through us, after the command ends */
		setpgid(0, 0);
		execv(path, (char *const *)argv);
		fprintf(stderr, "cmacollect: cannot run %s: %s\n", path,
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	t->ready_fd = pipefd[0];
	return 0;
}

/* Wait until the tool has attached its probes; false if it ended first. */
static bool wait_ready(struct tool *t)
{
	struct pollfd p = { .fd = t->ready_fd, .events = POLLIN };
	char c;
	int n;

	do {
		n = poll(&p, 1, READY_TIMEOUT_MS);
	} while (n < 0 && errno == EINTR && !tool_exiting);
	n = n > 0 ? (int)read(t->ready_fd, &c, 1) : 0;
	close(t->ready_fd);
	t->ready_fd = -1;
	return n == 1;
}

static void stop_tools(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tools); i++)
		if (tools[i].pid > 0)
			kill(tools[i].pid, SIGINT);
	for (i = 0; i < ARRAY_SIZE(tools); i++) {
		if (tools[i].pid <= 0)
			continue;
		while (waitpid(tools[i].pid, &tools[i].status, 0) < 0 &&
		       errno == EINTR)
			;
		tools[i].pid = 0;
	}
}

/* Copy a tool's document (one JSON value) into the output, or null. */
static void copy_doc(struct json *j, const char *key, struct tool *t)
{
	char buf[65536];
	size_t n, total = 0;
	FILE *out;

	if (!t->out || fseek(t->out, 0, SEEK_SET)) {
		json_null(j, key);
		return;
	}
	out = json_raw(j, key);
	while ((n = fread(buf, 1, sizeof(buf), t->out)) > 0) {
		/* the trailing newline of the document */
		if (n < sizeof(buf) && buf[n - 1] == '\n')
			n--;
		fwrite(buf, 1, n, out);
		total += n;
	}
	if (!total)
		fputs("null", out);
}

static int run_command(int *status)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		signal(SIGINT, SIG_DFL);
		execvp(env.command[0], env.command);
		fprintf(stderr, "cmacollect: cannot run %s: %s\n",
			env.command[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	int status = 0, err = 0, i;
	bool ok = true, written = true;
	char started[32];
	struct utsname u;
	struct json js;
	FILE *out = stdout;
	time_t now;
	size_t k;

	if (tool_init(&cli, argc, argv))
		return 1;
	if (env.command && env.duration) {
		error_line("give a command or a duration, not both");
		return 1;
	}
	if (env.output) {
		out = fopen(env.output, "w");
		if (!out) {
			error_line("cannot write %s: %s", env.output,
				   strerror(errno));
			return 1;
		}
	}
	if (tool_catch_signals())
		return 1;
	signal(SIGPIPE, SIG_IGN);

	for (k = 0; k < ARRAY_SIZE(tools) && !err; k++) {
		err = start_tool(&tools[k]);
		if (err)
			error_line("cannot start %s: %s", tools[k].name,
				   strerror(-err));
	}
	for (k = 0; k < ARRAY_SIZE(tools) && !err; k++) {
		if (!wait_ready(&tools[k])) {
			error_line("%s did not start (see its message above)",
				   tools[k].name);
			err = -ENOENT;
		}
	}
	if (err) {
		stop_tools();
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	now = time(NULL);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (env.command) {
		err = run_command(&status);
		if (err)
			error_line("cannot run the command: %s",
				   strerror(-err));
	} else {
		uint64_t end = env.duration ?
				       now_ns() + env.duration * 1000000000ULL :
				       0;

		while (!tool_exiting && (!end || now_ns() < end))
			tool_poll(NULL, tool_ms_until(end));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stop_tools();

	uname(&u);
	json_init(&js, out, 0);
	json_set_compact(&js, true);
	json_obj_begin(&js, NULL);
	json_str(&js, "schema", SCHEMA);
	json_obj_begin(&js, "kernel");
	json_str(&js, "release", u.release);
	json_str(&js, "machine", u.machine);
	json_obj_end(&js);
	json_str(&js, "started", started);
	json_fixed(&js, "duration_s",
		   (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		   3);
	json_str(&js, "path_requested", path_requested());
	if (env.command) {
		json_arr_begin(&js, "command");
		for (i = 0; env.command[i]; i++)
			json_str(&js, NULL, env.command[i]);
		json_arr_end(&js);
		json_s64(&js, "command_status",
			 WIFEXITED(status) ? WEXITSTATUS(status) :
					     128 + WTERMSIG(status));
	} else {
		json_null(&js, "command");
		json_null(&js, "command_status");
	}
	/* each tool's document on a line of its own */
	json_lines(&js, JSON_LINES);
	for (k = 0; k < ARRAY_SIZE(tools); k++) {
		if (!WIFEXITED(tools[k].status) ||
		    WEXITSTATUS(tools[k].status)) {
			error_line("%s ended with status %d", tools[k].name,
				   tools[k].status);
			ok = false;
		}
		copy_doc(&js, tools[k].name, &tools[k]);
	}
	json_obj_end(&js);
	/* a write error on a file is reported with its close below */
	written = !json_finish(&js);
out:
	for (k = 0; k < ARRAY_SIZE(tools); k++)
		if (tools[k].out)
			fclose(tools[k].out);
	if (out != stdout && (fclose(out) || !written)) {
		error_line("cannot write %s: %s", env.output, strerror(errno));
		ok = false;
	}
	/* no half-written document behind a failure */
	if (out != stdout && err)
		unlink(env.output);
	if (err || !ok)
		return 1;
	if (env.command)
		return WIFEXITED(status) ? WEXITSTATUS(status) :
					   128 + WTERMSIG(status);
	return 0;
}
