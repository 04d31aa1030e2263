import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostCpuUsage } from '../../src/domain/host.js';
import { RpcFault } from '../../src/rpc/faults.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { clusterTable } from '../../src/store/clusters.js';
import { allocateHostCapacity, listPlaceableHosts } from '../../src/store/hosts.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { validateDocument, validateXml } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const between = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1];
const ids = (xml: string, tag: string) => [...(between(xml, tag) ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
const tmplValue = (xml: string, name: string) => xml.match(new RegExp(`<${name}><!\\[CDATA\\[(.*?)\\]\\]></${name}>`))?.[1];
const c = (name: string, value: string | number) => `<${name}><![CDATA[${value}]]></${name}>`;

const CPU_FEATURES = 'vme,ds,acpi,ss,ht,tm,pbe,dtes64,monitor,ds_cpl,vmx,smx,est,tm2,xtpr,pdcm,osxsave,f16c,rdrand,arat,'
  + 'tsc_adjust,clflushopt,clwb,intel-pt,sha-ni,umip,pku,ospke,waitpkg,gfni,vaes,vpclmulqdq,rdpid,movdiri,movdir64b,pks,'
  + 'fsrm,md-clear,serialize,arch-lbr,stibp,arch-capabilities,core-capability,ssbd,avx-vnni,xsaveopt,xsavec,xgetbv1,xsaves,'
  + 'pdpe1gb,abm,invtsc,rdctl-no,ibrs-all,skip-l1dfl-vmentry,mds-no,pschange-mc-no';
const CPU_MODELS = '486 pentium pentium2 pentium3 pentiumpro coreduo n270 core2duo qemu32 kvm32 cpu64-rhel5 cpu64-rhel6 '
  + 'kvm64 Conroe Penryn Nehalem Nehalem-IBRS Westmere Westmere-IBRS SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS '
  + 'SapphireRapids SapphireRapids-noTSX Opteron_G1';

/** The document of a dummy host just allocated (and monitored at once) with nothing on it. */
function monitoredHost(id: number, name: string, monitoring: string): string {
  return `<HOST><ID>${id}</ID><NAME>${name}</NAME><STATE>2</STATE><PREV_STATE>2</PREV_STATE>`
    + '<IM_MAD><![CDATA[dummy]]></IM_MAD><VM_MAD><![CDATA[dummy]]></VM_MAD><CLUSTER_ID>0</CLUSTER_ID><CLUSTER>default</CLUSTER>'
    + '<HOST_SHARE><MEM_USAGE>0</MEM_USAGE><CPU_USAGE>0</CPU_USAGE><TOTAL_MEM>16777216</TOTAL_MEM><TOTAL_CPU>800</TOTAL_CPU>'
    + '<MAX_MEM>16777216</MAX_MEM><MAX_CPU>800</MAX_CPU><RUNNING_VMS>0</RUNNING_VMS><VMS_THREAD>1</VMS_THREAD>'
    + `<DATASTORES>${c('DISK_USAGE', 0)}${c('FREE_DISK', 20480)}${c('MAX_DISK', 20480)}${c('USED_DISK', 9720)}</DATASTORES>`
    + '<PCI_DEVICES></PCI_DEVICES><NUMA_NODES></NUMA_NODES></HOST_SHARE><VMS></VMS>'
    + `<TEMPLATE>${c('ARCH', 'x86_64')}${c('CPUSPEED', 3200)}${c('HOSTNAME', name)}${c('HYPERVISOR', 'dummy')}${c('IM_MAD', 'dummy')}`
    + `${c('KVM_CPU_FEATURES', CPU_FEATURES)}${c('KVM_CPU_MODELS', CPU_MODELS)}${c('MEMORY_ENCRYPTION', 'SEV')}`
    + `${c('MODELNAME', 'Dummy(R) Core @ 3.2GHz')}${c('RESERVED_CPU', '')}${c('RESERVED_MEM', '')}${c('TOTALCPU', 800)}`
    + `${c('TOTALMEMORY', 16777216)}${c('VM_MAD', 'dummy')}</TEMPLATE>${monitoring}</HOST>`;
}

const monitoringRecord = (id: number, at: number, usedCpu = 0, usedMem = 0, totalCpu = 800, totalMem = 16777216) =>
  `<MONITORING><TIMESTAMP>${at}</TIMESTAMP><ID>${id}</ID><CAPACITY>${c('FREE_CPU', totalCpu - usedCpu)}`
  + `${c('FREE_MEMORY', totalMem - usedMem)}${c('USED_CPU', usedCpu)}${c('USED_MEMORY', usedMem)}</CAPACITY>`
  + `<SYSTEM>${c('NETRX', 0)}${c('NETTX', 0)}</SYSTEM></MONITORING>`;

for (const backend of backends()) {
  describe(`one.host.*, one.hostpool.info, one.cluster.* (${backend.name})`, () => {
    let cloud: TestCloud;
    let alice: { id: number; session: string };
    const info = async (id: number) => okXml(await cloud.call('one.host.info', id));
    const allocate = async (name: string, im = 'dummy', vm = 'dummy', cluster = -1) => {
      const reply = await cloud.call('one.host.allocate', name, im, vm, cluster);
      assert.equal(reply[0], true, String(reply[1]));
      return reply[1] as number;
    };
    const poolIds = async () => [...okXml(await cloud.call('one.hostpool.info')).matchAll(/<HOST><ID>(\d+)/g)].map((m) => Number(m[1]));
    before(async () => {
      cloud = await startTestCloud(backend);
      alice = await cloud.user('alice');
    });
    after(async () => { await cloud.stop(); });

    it('a dummy host is monitored at allocate: info, pool, cluster and documents as oned writes them', async () => {
      assert.deepEqual(await cloud.call('one.host.allocate', 'cs-host-1', 'dummy', 'dummy', -1), [true, 0, 0]);
      const xml = await info(0);
      assert.equal(xml, monitoredHost(0, 'cs-host-1', monitoringRecord(0, TEST_EPOCH_S)));
      await validateDocument(xml, 'host.xsd');
      const pool = okXml(await cloud.call('one.hostpool.info'));
      assert.equal(pool, `<HOST_POOL>${monitoredHost(0, 'cs-host-1', '<MONITORING/>')}</HOST_POOL>`);
      await validateDocument(pool, 'host_pool.xsd');
      await assert.rejects(validateXml(`<HOST_POOL>${xml}</HOST_POOL>`, 'host_pool.xsd'), /MONITORING/,
        'our schema knows pools never load monitoring');
      assert.deepEqual(await cloud.call('one.hostpool.info', 'x', 1), [true, pool, 0], 'extra parameters are ignored');
      const cluster = okXml(await cloud.call('one.cluster.info', 0));
      assert.equal(cluster, '<CLUSTER><ID>0</ID><NAME>default</NAME><HOSTS><ID>0</ID></HOSTS>'
        + '<DATASTORES><ID>0</ID><ID>1</ID><ID>2</ID></DATASTORES><VNETS></VNETS>'
        + `<TEMPLATE>${c('RESERVED_CPU', '')}${c('RESERVED_MEM', '')}</TEMPLATE></CLUSTER>`);
      await validateDocument(cluster, 'cluster.xsd');
      const clusters = okXml(await cloud.call('one.clusterpool.info'));
      assert.equal(clusters, `<CLUSTER_POOL>${cluster}</CLUSTER_POOL>`);
      await validateDocument(clusters, 'cluster_pool.xsd');
      assert.deepEqual(await cloud.call('one.cluster.info', 5), fail('one.cluster.info', 'Error getting cluster [5].', 1024, 5));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.cluster.info', 0),
        fail('one.cluster.info', `User [${alice.id}] : Not authorized to perform USE CLUSTER [0].`, 512));
      assert.equal(okXml(await cloud.callAs(alice.session, 'one.clusterpool.info')), '<CLUSTER_POOL></CLUSTER_POOL>');
    });

    it('allocate errors: cluster, authorization, host-name rule, drivers, taken names; unknown drivers stay INIT', async () => {
      const m = 'one.host.allocate';
      assert.deepEqual(await cloud.call(m, 'h-x', 'dummy', 'dummy', 7), fail(m, 'Error getting cluster [7].', 1024, 7));
      assert.deepEqual(await cloud.call(m, 'h-x', 'dummy', 'dummy', -3), fail(m, 'Error getting cluster [-3].', 1024, -3));
      assert.deepEqual(await cloud.callAs(alice.session, m, 'h-x', 'dummy', 'dummy', -1),
        fail(m, `User [${alice.id}] : Not authorized to perform CREATE HOST; Not authorized to perform ADMIN CLUSTER [0].`, 512));
      const al = (detail: string) => fail(m, `Error allocating a new host. ${detail}`, 16384);
      const length = 'Invalid HOSTNAME, HOSTNAME length should be greater than 1, but smaller than 64 characters';
      assert.deepEqual(await cloud.call(m, 'a', 'dummy', 'dummy', -1), al(length));
      assert.deepEqual(await cloud.call(m, 'a'.repeat(64), 'dummy', 'dummy', -1), al(length));
      assert.deepEqual(await cloud.call(m, '-ab', 'dummy', 'dummy', -1), al("Invalid HOSTNAME, first character can't be '-'"));
      assert.deepEqual(await cloud.call(m, 'a b', 'dummy', 'dummy', -1), al("Invalid HOSTNAME, ' ' is invalid character for a HOSTNAME"));
      assert.deepEqual(await cloud.call(m, 'a&b', 'dummy', 'dummy', -1), al("Invalid HOSTNAME, '&' is invalid character for a HOSTNAME"));
      assert.deepEqual(await cloud.call(m, 'ab_', 'dummy', 'dummy', -1), al("Invalid HOSTNAME, last character can't be '_'"));
      assert.deepEqual(await cloud.call(m, 'h-x', '', 'dummy', -1), al('IM_MAD_NAME cannot be empty.'));
      assert.deepEqual(await cloud.call(m, 'h-x', 'dummy', '', -1), al('VMM_MAD_NAME cannot be empty.'));
      assert.deepEqual(await cloud.call(m, 'cs-host-1', 'kvm', 'kvm', 0), al('NAME is already taken by HOST 0.'));
      assert.deepEqual(await poolIds(), [0], 'nothing left behind');
      const id = await allocate('h.unknown_drv', 'nosuch', 'nosuch', 0);
      assert.equal(id, 1, 'failed allocations use no id');
      const xml = await info(id);
      assert.ok(xml.startsWith(`<HOST><ID>${id}</ID><NAME>h.unknown_drv</NAME><STATE>0</STATE><PREV_STATE>0</PREV_STATE>`));
      assert.ok(xml.includes('<TOTAL_MEM>0</TOTAL_MEM><TOTAL_CPU>0</TOTAL_CPU><MAX_MEM>0</MAX_MEM><MAX_CPU>0</MAX_CPU>'
        + '<RUNNING_VMS>0</RUNNING_VMS><VMS_THREAD>1</VMS_THREAD><DATASTORES></DATASTORES>'));
      assert.ok(xml.endsWith(`<TEMPLATE>${c('IM_MAD', 'nosuch')}${c('RESERVED_CPU', '')}${c('RESERVED_MEM', '')}`
        + `${c('VM_MAD', 'nosuch')}</TEMPLATE><MONITORING/></HOST>`));
      // OpenNebula's host.xsd requires DATASTORES children, which oned omits until a host is monitored.
      await validateXml(xml, 'host.xsd');
      assert.equal(between(xml, 'HYPERVISOR'), undefined);
      const kvm = await info(await allocate('kvm-1', 'kvm', 'kvm'));
      assert.equal(between(kvm, 'STATE'), '2');
      assert.equal(tmplValue(kvm, 'HYPERVISOR'), 'kvm');
    });

    it('info and monitoring: NO_EXISTS, pool ids, USE that the default MANAGE ACL does not give', async () => {
      const m = 'one.host.info';
      assert.deepEqual(await cloud.call(m, 999), fail(m, 'Error getting host [999].', 1024, 999));
      assert.deepEqual(await cloud.call(m, -1), fail(m, 'Error getting host Pool.', 1024));
      assert.deepEqual(await cloud.call(m, -7), fail(m, 'Error getting host [-7].', 1024, -7));
      assert.deepEqual(await cloud.callAs(alice.session, m, 0), fail(m, `User [${alice.id}] : Not authorized to perform USE HOST [0].`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, m, -1), fail(m, `User [${alice.id}] : Not authorized to perform USE HOST.`, 512));
      assert.equal(okXml(await cloud.callAs(alice.session, 'one.hostpool.info')), '<HOST_POOL></HOST_POOL>');
      await assert.rejects(cloud.call(m, 0, 1), (e: unknown) => e instanceof RpcFault && e.code === -501
        && e.message === 'Parameter that is supposed to be boolean is not');
      assert.equal((await cloud.call(m, 0, true))[0], true);
      const mon = 'one.host.monitoring';
      assert.equal(okXml(await cloud.call(mon, 0)), `<MONITORING_DATA>${monitoringRecord(0, TEST_EPOCH_S)}</MONITORING_DATA>`);
      assert.equal(okXml(await cloud.call(mon, 1)), '<MONITORING_DATA></MONITORING_DATA>', 'never monitored');
      assert.deepEqual(await cloud.call(mon, 999), fail(mon, 'Error getting host [999].', 1024, 999));
      assert.deepEqual(await cloud.callAs(alice.session, mon, 0), fail(mon, `User [${alice.id}] : Not authorized to perform USE HOST [0].`, 512));
      assert.deepEqual(await poolIds(), [...await poolIds()].sort((a, b) => b - a), 'DESC by default');
    });

    it('update: merge and replace keep the drivers; reservations, VMS_THREAD and the TOTAL_CPU/TOTAL_MEMORY extension', async () => {
      const id = await allocate('upd-1');
      const m = 'one.host.update';
      cloud.clock.advance(10_000);
      assert.deepEqual(await cloud.call(m, id, 'NOTE = "n1"\nRESERVED_CPU = 100\nRESERVED_MEM = "10%"', 1), [true, id, 0]);
      let xml = await info(id);
      assert.equal(tmplValue(xml, 'NOTE'), 'n1');
      assert.equal(between(xml, 'MAX_CPU'), '700');
      assert.equal(between(xml, 'MAX_MEM'), String(Math.trunc(16777216 * (1 - 10 / 100))));
      assert.equal(between(xml, 'TOTAL_CPU'), '800');
      assert.match(xml, new RegExp(`<MONITORING><TIMESTAMP>${TEST_EPOCH_S + 10}</TIMESTAMP>`));
      await validateDocument(xml, 'host.xsd');
      assert.deepEqual(await cloud.call(m, id, 'TOTAL_CPU = 1600\nTOTAL_MEMORY = 1048576\nVMS_THREAD = 0\nRESERVED_MEM = "10 %"'), [true, id, 0]);
      xml = await info(id);
      assert.equal(tmplValue(xml, 'NOTE'), undefined, 'replace drops what is not given');
      assert.equal(tmplValue(xml, 'IM_MAD'), 'dummy', 'drivers are written back');
      assert.equal(tmplValue(xml, 'VM_MAD'), 'dummy');
      assert.equal(tmplValue(xml, 'TOTALCPU'), '1600');
      assert.equal(tmplValue(xml, 'TOTALMEMORY'), '1048576');
      assert.equal(tmplValue(xml, 'VMS_THREAD'), '1', 'VMS_THREAD 0 becomes 1');
      assert.match(xml, /<TOTAL_MEM>1048576<\/TOTAL_MEM><TOTAL_CPU>1600<\/TOTAL_CPU><MAX_MEM>1048576<\/MAX_MEM><MAX_CPU>1600<\/MAX_CPU>/,
        'an unreadable reservation leaves the total');
      assert.deepEqual(await cloud.call(m, id, 'IM_MAD = kvm\nVM_MAD = qemu', 1), [true, id, 0]);
      xml = await info(id);
      assert.ok(xml.includes('<IM_MAD><![CDATA[kvm]]></IM_MAD><VM_MAD><![CDATA[qemu]]></VM_MAD>'));
      assert.equal(tmplValue(xml, 'HYPERVISOR'), 'kvm');
      // The cluster's reservation applies where the host has none.
      const cluster = (await clusterTable.get(cloud.db, 0))!;
      cluster.template.replace('RESERVED_CPU', '25%');
      await clusterTable.save(cloud.db, cluster);
      await cloud.call(m, id, 'RESERVED_CPU = ""', 1);
      assert.equal(between(await info(id), 'MAX_CPU'), '1200');
      cluster.template.replace('RESERVED_CPU', '');
      await clusterTable.save(cloud.db, cluster);
      assert.deepEqual(await cloud.call(m, id, 'A=1', 2), fail(m, 'Wrong update type', 4096));
      assert.deepEqual(await cloud.call(m, 404, 'A=1'), fail(m, 'Error getting host [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'A=1'), fail(m, `User [${alice.id}] : Not authorized to perform ADMIN HOST [${id}].`, 512));
      const parse = await cloud.call(m, id, 'A = [', 1);
      assert.equal(parse[2], 8192);
      assert.match(parse[1] as string, /^\[one\.host\.update\] Cannot update template\. Parse error: /);
      assert.equal(tmplValue(await info(id), 'TOTALCPU'), '1600', 'failed updates change nothing');
      const records = okXml(await cloud.call('one.host.monitoring', id));
      const stamps = [...records.matchAll(/<TIMESTAMP>(\d+)<\/TIMESTAMP>/g)].map((x) => Number(x[1]));
      assert.deepEqual(stamps, [TEST_EPOCH_S, TEST_EPOCH_S + 10], 'one record per second, oldest first');
    });

    it('status: disable, enable, offline and back; wrong codes after authorization', async () => {
      const id = await allocate('st-1');
      const m = 'one.host.status';
      const state = async () => between(await info(id), 'STATE');
      assert.deepEqual(await cloud.call(m, id, 1), [true, id, 0]);
      assert.equal(await state(), '4');
      assert.equal((await listPlaceableHosts(cloud.db)).some((p) => p.host.id === id), false);
      assert.deepEqual(await cloud.call(m, id, 0), [true, id, 0]);
      assert.equal(await state(), '2');
      assert.deepEqual(await cloud.call(m, id, 2), [true, id, 0]);
      let xml = await info(id);
      assert.equal(between(xml, 'STATE'), '8');
      assert.match(xml, /<TOTAL_MEM>0<\/TOTAL_MEM><TOTAL_CPU>0<\/TOTAL_CPU><MAX_MEM>0<\/MAX_MEM><MAX_CPU>0<\/MAX_CPU>/);
      assert.equal(tmplValue(xml, 'TOTALCPU'), undefined);
      assert.equal(tmplValue(xml, 'TOTALMEMORY'), undefined);
      await validateDocument(xml, 'host.xsd');
      assert.deepEqual(await cloud.call(m, id, 0), [true, id, 0]);
      xml = await info(id);
      assert.equal(between(xml, 'STATE'), '2', 'enabled hosts are monitored again at once');
      assert.equal(between(xml, 'TOTAL_CPU'), '800');
      assert.equal(tmplValue(xml, 'TOTALCPU'), '800');
      await cloud.call(m, 1, 2);
      await cloud.call(m, 1, 0);
      assert.equal(between(await info(1), 'STATE'), '0', 'a host whose IM driver does not exist stays INIT');
      assert.deepEqual(await cloud.call(m, id, 3), fail(m, 'Wrong status code', 8192));
      assert.deepEqual(await cloud.call(m, 404, 3), fail(m, 'Error getting host [404].', 1024, 404));
      assert.deepEqual(await cloud.call(m, -1, 3), fail(m, 'Error getting host Pool.', 1024));
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 9), fail(m, `User [${alice.id}] : Not authorized to perform ADMIN HOST [${id}].`, 512));
    });

    it('rename: global names, only the generic name rule, same name without authorization; HOSTNAME follows', async () => {
      const id = await allocate('ren-1');
      const m = 'one.host.rename';
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'ren-1'), [true, id, 0]);
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'x'), fail(m, `User [${alice.id}] : Not authorized to perform ADMIN HOST [${id}].`, 512));
      assert.deepEqual(await cloud.call(m, id, 'cs-host-1'), fail(m, 'host cannot be renamed to cs-host-1 because it collides with host 0', 2048));
      assert.deepEqual(await cloud.call(m, id, 'a&b'), fail(m, "Invalid NAME, char '&' is not allowed", 2048));
      assert.deepEqual(await cloud.call(m, 404, 'x'), fail(m, 'Error getting host [404].', 1024, 404));
      assert.deepEqual(await cloud.call(m, id, 'a'), [true, id, 0]);
      assert.deepEqual(await cloud.call(m, id, 'bad name'), [true, id, 0]);
      const xml = await info(id);
      assert.equal(between(xml, 'NAME'), 'bad name');
      assert.equal(tmplValue(xml, 'HOSTNAME'), 'bad name');
      await validateDocument(xml, 'host.xsd');
      assert.deepEqual(await cloud.call('one.host.allocate', 'bad-name', 'dummy', 'dummy', -1), [true, id + 1, 0]);
    });

    it('VM capacity: allocateHostCapacity, listPlaceableHosts, and delete refused while VMs hold capacity', async () => {
      const id = await allocate('cap-1');
      assert.equal(hostCpuUsage(0.1), 10);
      assert.equal(hostCpuUsage(0.29), 29);
      const vm = { cpu: 0.1, memoryKb: 64 * 1024, vmId: 5 };
      assert.equal(await cloud.db.transaction((tx) => allocateHostCapacity(tx, id, vm, 1)), true);
      assert.equal(await cloud.db.transaction((tx) => allocateHostCapacity(tx, id, vm, 1)), false, 'a VM is added once');
      assert.equal(await cloud.db.transaction((tx) => allocateHostCapacity(tx, id, { cpu: 2, memoryKb: 1024, vmId: 3 }, 1)), true);
      assert.equal(await cloud.db.transaction((tx) => allocateHostCapacity(tx, 999, vm, 1)), false, 'missing host');
      let xml = await info(id);
      assert.ok(xml.includes('<HOST_SHARE><MEM_USAGE>66560</MEM_USAGE><CPU_USAGE>210</CPU_USAGE>'));
      assert.equal(between(xml, 'RUNNING_VMS'), '2');
      assert.deepEqual(ids(xml, 'VMS'), [3, 5]);
      await validateDocument(xml, 'host.xsd');
      const placeable = await listPlaceableHosts(cloud.db);
      assert.deepEqual(placeable.map((p) => p.host.id), [...placeable.map((p) => p.host.id)].sort((a, b) => a - b));
      assert.ok(placeable.every((p) => p.host.state === 2));
      assert.ok(!placeable.some((p) => p.host.id === 1), 'INIT hosts are not placeable');
      const mine = placeable.find((p) => p.host.id === id)!;
      assert.equal(mine.freeCpu, 800 - 210);
      assert.equal(mine.freeMemoryKb, 16777216 - 66560);

      const m = 'one.host.delete';
      assert.deepEqual(await cloud.callAs(alice.session, m, id), fail(m, `User [${alice.id}] : Not authorized to perform ADMIN HOST [${id}].`, 512));
      assert.deepEqual(await cloud.call(m, id), fail(m, 'Cannot delete host. Can not remove a host with running VMs', 2048));
      await cloud.db.transaction((tx) => allocateHostCapacity(tx, id, vm, -1));
      assert.equal(await cloud.db.transaction((tx) => allocateHostCapacity(tx, id, vm, -1)), false, 'a VM leaves once');
      xml = await info(id);
      assert.ok(xml.includes('<HOST_SHARE><MEM_USAGE>1024</MEM_USAGE><CPU_USAGE>200</CPU_USAGE>'));
      assert.deepEqual(ids(xml, 'VMS'), [3]);
      await cloud.db.transaction((tx) => allocateHostCapacity(tx, id, { cpu: 2, memoryKb: 1024, vmId: 3 }, -1));
      assert.ok(ids(okXml(await cloud.call('one.cluster.info', 0)), 'HOSTS').includes(id));
      assert.deepEqual(await cloud.call(m, id), [true, id, 0]);
      assert.deepEqual(await cloud.call(m, id), fail(m, `Error getting host [${id}].`, 1024, id));
      assert.deepEqual(await cloud.call(m, -1), fail(m, 'Error getting host Pool.', 1024));
      assert.ok(!ids(okXml(await cloud.call('one.cluster.info', 0)), 'HOSTS').includes(id), 'the cluster forgets it');
      assert.equal(okXml(await cloud.call('one.host.monitoring', 0)).includes('<MONITORING>'), true);
      const { rows } = await cloud.db.query<{ n: number }>('SELECT count(*)::int AS n FROM host_monitoring WHERE hid = $1', [id]);
      assert.equal(rows[0].n, 0, 'its monitoring goes too');
      assert.ok(await allocate('cap-1') > id, 'ids are never reused');
    });

    it('the host template keeps user vectors and sorts them', async () => {
      const id = await allocate('vec-1');
      await cloud.call('one.host.update', id, 'PIN_POLICY = NONE\nLABELS = "a,b"\nZ = [ B = 2, A = 1 ]', 1);
      const xml = await info(id);
      assert.ok(xml.includes(`<Z>${c('A', 1)}${c('B', 2)}</Z>`));
      await validateDocument(xml, 'host.xsd');
    });
  });
}
