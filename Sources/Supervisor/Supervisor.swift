// Supervisor module: runs one bot and keeps it running.
//
// - RestartPolicy.swift: the restart decision, a pure function of exit,
//   history and time (DESIGN §4 rule 3).
// - Redactor.swift: streaming masking of secret values in the bot's output.
//
// The event loop (signalfd, pidfd, timerfd, epoll), reaping and the output
// relay build on these.
