"""Progress of a day-by-day run, on stderr (stdout keeps the report alone)."""

import time


class DayProgress:
    """Call after each day: a line every day at verbosity 2, every :attr:`INTERVAL` seconds at 1, none at 0.

    A run that reported progress also reports its last day, so the log shows it finished.
    """

    INTERVAL = 5.0

    def __init__(self, stream, verbosity, doing):
        self.stream, self.verbosity, self.doing = stream, verbosity, doing
        self.started = self.last = time.monotonic()

    def __call__(self, done, total, day, divergent):
        if self.verbosity == 0:
            return
        now = time.monotonic()
        finished_after_reporting = done == total and self.last > self.started
        if self.verbosity >= 2 or now - self.last >= self.INTERVAL or finished_after_reporting:
            self.last = now
            self.stream.write(
                f"{self.doing}: {done:,}/{total:,} days ({done / total:.0%}), up to {day}; "
                f"{divergent:,} divergent rows so far; {now - self.started:.1f}s"
            )
