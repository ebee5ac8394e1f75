"""Pure rules of error_monitor: what an error record is and how events become one."""
