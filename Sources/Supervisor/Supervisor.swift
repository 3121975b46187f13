// Supervisor module
