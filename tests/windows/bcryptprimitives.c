/*
 * A TEST-ONLY stand-in for Windows' bcryptprimitives.dll, built by
 * scripts/windows-smoke into target/windows-smoke/ and never shipped.
 *
 * Why: Rust's standard library on Windows takes its random bytes (the
 * HashMap seed, among others) from ProcessPrng, which it imports from
 * bcryptprimitives.dll. Every Windows 10/Server 2016 and later has that DLL;
 * Wine 8.0 (Debian bookworm's wine64) does not, so cu-roll.exe would not
 * even load under Wine. This stand-in exports ProcessPrng over advapi32's
 * SystemFunction036 (RtlGenRandom), which Wine does provide, so the smoke
 * test can run the real binary. The shipped cu-roll.exe is unchanged: on
 * Windows the system's own bcryptprimitives.dll is loaded.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *            bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

/* advapi32's export behind RtlGenRandom. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData): fills the buffer, always
 * TRUE (Microsoft documents no failure). SystemFunction036 takes a ULONG
 * length, so larger requests go in chunks. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
