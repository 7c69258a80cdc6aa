"""The rehearsal world around coalmine, built on the Sandbox: scenarios, the sample applications
and their traffic, rehearsals and the moves the world makes during one (events, moves), the soak,
and the invariant every deployment must end with. Never coalmine itself, never a printer: the
CLI passes `emit` and the execution-history formatter in."""
