// The EICAR anti-virus test file, matched by its two distinctive parts.
rule EICAR_Test_File : test
{
    strings:
        $head = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
        $name = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $head at 0 and $name
}
