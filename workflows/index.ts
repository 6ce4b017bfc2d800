// The single workflowsPath: every workflow the worker runs is exported here.
export { createDeviceWorkflow } from './create-device';
export { provisionX509DeviceWorkflow } from './provision-x509-device';
export { provisionClaimDeviceWorkflow } from './provision-claim-device';
export { rotateDeviceWorkflow } from './rotate-device';
export { rotationRunWorkflow } from './rotation-run';
export { revokeDeviceWorkflow } from './revoke-device';
export { renewalSweepWorkflow } from './renewal-sweep';
