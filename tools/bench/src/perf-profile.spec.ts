import { kindOf } from './perf-profile';

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
