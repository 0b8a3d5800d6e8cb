import { codeOf, kindOf } from './perf-profile';

describe('kindOf (perf samples by kind of code)', () => {
  it.each([
    [['pvm_irq_enable ([kernel.kallsyms])', 'JS:+query /x/pg/lib/client.js (/tmp/perf-12.map)'], 'kernel'],
    [['Builtins_LoadIC (/x/node)', 'JS:^send (/tmp/perf-12.map)'], 'V8 builtins'],
    [['JS:+parse /x/zod.cjs:1:2 (/tmp/perf-12.map)'], 'JIT-compiled JavaScript'],
    [['_int_malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)'], 'libc'],
    [['v8::internal::JsonParser<unsigned char>::ScanJsonString (/x/node)'], 'V8 and Node runtime'],
    // Garbage collection wherever it sits on the stack, a kernel leaf (page faults) included.
    [['clear_page_erms ([kernel.kallsyms])', 'v8::internal::Scavenger::ScavengeObject (/x/node)'], 'garbage collection'],
    [['Builtins_X (/x/node)', 'v8::internal::MinorGCJob::Task::RunInternal (/x/node)'], 'garbage collection'],
  ])('%j is %s', (frames, kind) => {
    expect(kindOf(frames)).toBe(kind);
  });
});

describe('codeOf (perf samples by whose code runs)', () => {
  it.each([
    // Native code is charged to the innermost JavaScript frame that called it.
    [['Builtins_LoadIC (/x/node)', "JS:+'query /w/node_modules/typeorm/driver/postgres/PostgresQueryRunner.js:185:16 (/tmp/perf-12.map)"], 'typeorm'],
    [["JS:^ /w/node_modules/@nats-io/nats-core/lib/protocol.js:475:14 (/tmp/perf-12.map)", "JS:+'query /w/node_modules/pg/lib/client.js:1:2 (/tmp/perf-12.map)"], '@nats-io/nats-core'],
    [["JS:+'decodeValid /w/dist/libs/messaging/src/jetstream.server.js:411:16 (/tmp/perf-12.map)"], 'AGF libs/messaging'],
    [["JS:*'processTicksAndRejections node:internal/process/task_queues:72:35 (/tmp/perf-12.map)"], 'Node.js internals'],
    [['epoll_wait ([kernel.kallsyms])', 'uv__io_poll (/x/node)'], 'no JavaScript on the stack'],
    [['v8::internal::Scavenger::ScavengeObject (/x/node)', "JS:+'query /w/node_modules/pg/lib/client.js:1:2 (/tmp/perf-12.map)"], 'garbage collection'],
  ])('%j is %s', (frames, code) => {
    expect(codeOf(frames)).toBe(code);
  });
});
