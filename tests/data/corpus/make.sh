#!/bin/sh
# Regenerates the small real-audio corpus the model test runs on: espeak-ng's Dutch voice,
# band-limited and μ-law encoded at 8 kHz like a phone line. Run from this folder.
set -e
say() { # file voice text
    espeak-ng -v "$2" -s 150 -w /tmp/fourteenplus-say.wav "$3"
    sox /tmp/fourteenplus-say.wav -r 8000 -c 1 -e u-law "$1" highpass 300 lowpass 3400 pad 0.3 0.4
}
say koggenland.wav nl "Koggenland"
say medemblik.wav nl+f3 "Medemblik"
say drechterland-carrier.wav nl "eh, ik wil graag de gemeente Drechterland bellen"
say opmeer.wav nl+m3 "Opmeer"
say zwaag.wav nl "Zwaag"
say hoogkarspel-carrier.wav nl+f3 "ik wil graag Hoogkarspel"
say amsterdam.wav nl "Amsterdam"
say weet-niet.wav nl+f3 "ik weet het niet"
# Answers to "Bedoelt u …?": the reply test reads these by name, so they are not in the manifest.
say ja.wav nl "ja"
say nee.wav nl+m3 "nee"
say ja-hoor.wav nl "ja hoor"
say nee-koggenland.wav nl+m3 "nee, Koggenland"
say ja-opmeer.wav nl "ja, Opmeer"
say natuurlijk-niet.wav nl "natuurlijk niet"
sox -n -r 8000 -c 1 -e u-law silence.wav synth 2.0 pinknoise vol 0.003
cat > manifest.csv <<CSV
file,area_code,expected
koggenland.wav,0229,Koggenland
medemblik.wav,0229,Medemblik
drechterland-carrier.wav,0229,Drechterland
opmeer.wav,0229,Opmeer
zwaag.wav,0229,Hoorn
hoogkarspel-carrier.wav,0229,Drechterland
amsterdam.wav,0229,none
weet-niet.wav,0229,none
silence.wav,0229,none
CSV
