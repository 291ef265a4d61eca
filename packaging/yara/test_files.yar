// Test files: the EICAR anti-virus test file, so that anyone can check that detection works.
rule EICAR_Test_File : test
{
    meta:
        description = "EICAR anti-virus test file (harmless; used to check that detection works)"
        severity = "low"
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar at 0 and filesize < 256
}
