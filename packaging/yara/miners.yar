// Crypto-currency miners commonly dropped on Linux servers (XMRig and its forks, their configs).
rule Linux_Miner_XMRig : miner
{
    meta:
        description = "XMRig-family miner program (RandomX/CryptoNight, stratum, donate level)"
    strings:
        $s1 = "stratum+tcp://" ascii
        $s2 = "stratum+ssl://" ascii
        $s3 = "donate-level" ascii
        $s4 = "randomx" ascii nocase
        $s5 = "cryptonight" ascii nocase
        $s6 = "xmrig" ascii nocase
        $s7 = "nicehash" ascii nocase
    condition:
        uint32(0) == 0x464c457f and 4 of them
}

rule Linux_Miner_Config : miner
{
    meta:
        description = "Miner configuration: a mining pool with wallet and algorithm"
    strings:
        $url = /"url"\s*:\s*"(stratum\+(tcp|ssl|tls):\/\/)?[A-Za-z0-9.-]+:[0-9]{2,5}"/
        $user = /"user"\s*:\s*"[A-Za-z0-9]{30,}/
        $algo = /"(algo|coin)"\s*:\s*"(rx\/0|rx\/wow|cn\/[a-z0-9]+|randomx|monero|xmr)"/ nocase
        $pools = "\"pools\"" ascii
    condition:
        filesize < 256KB and $pools and $url and ($user or $algo)
}
