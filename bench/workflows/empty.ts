/**
 * The benchmark's yardstick for the workflow engine: a workflow that does nothing, so starting
 * and awaiting it costs only the engine's own work (history, one workflow task, completion).
 * Bench-only: certflow's workers never register it.
 */
export async function emptyWorkflow(): Promise<void> {
  // Intentionally empty.
}
