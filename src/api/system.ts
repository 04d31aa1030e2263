import { getSystemAttribute } from '../store/systemAttributes.js';
import { configurationEntries, renderConfiguration } from '../xml/configuration.js';
import type { ApiMethod } from './app.js';

/** The version oned 7.4 reports; Terraform's provider checks it first. */
export const ONED_VERSION = '7.4.0';

const version: ApiMethod = {
  name: 'one.system.version', signature: 'A:s', object: 'ZONE',
  async run() { return ONED_VERSION; },
};

const config: ApiMethod = {
  name: 'one.system.config', signature: 'A:s', object: 'ZONE',
  async run(req) {
    const oneKey = (await getSystemAttribute(req.app.db, 'ONE_KEY')) ?? '';
    return renderConfiguration(configurationEntries(req.app.config, oneKey));
  },
};

export const systemMethods: ApiMethod[] = [version, config];
