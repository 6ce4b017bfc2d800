// The empty-worker's `workflowsPath` (bench/servers/empty-worker.ts).
export { emptyWorkflow } from './empty';
