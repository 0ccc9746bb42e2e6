/** This process's OS and architecture in Go's names (`linux/amd64`), as docker reports them. */
const goArch: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export const clientOs = process.platform === 'win32' ? 'windows' : process.platform;
export const clientArch = goArch[process.arch] ?? process.arch;
