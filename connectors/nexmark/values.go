package nexmark

import (
	"strconv"
	"sync"
)

// Word lists of the reference generator.
var (
	firstNames  = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames   = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	cities      = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	states      = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}
)

// fullNames holds every "first last" combination, index
// first × len(lastNames) + last, so a name costs no allocation.
var fullNames = func() []string {
	out := make([]string, 0, len(firstNames)*len(lastNames))
	for _, f := range firstNames {
		for _, l := range lastNames {
			out = append(out, f+" "+l)
		}
	}
	return out
}()

// channel is a bid's channel with its url.
type channel struct{ name, url string }

// channels holds the hot channels (indexes 0..3) and then "channel-i" for
// i in [0, numChannels) at index len(hotChannels) + i. Built once, on first
// use, deterministically.
var (
	channelsOnce sync.Once
	channels     []channel
)

func channelTable() []channel {
	channelsOnce.Do(func() {
		salt := sChannelCache.salt()
		channels = make([]channel, 0, len(hotChannels)+numChannels)
		var buf []byte
		for i, name := range hotChannels {
			r := at(salt, numChannels+int64(i))
			buf = baseURL(buf[:0], &r)
			channels = append(channels, channel{name: name, url: string(buf)})
		}
		for i := range numChannels {
			r := at(salt, int64(i))
			buf = baseURL(buf[:0], &r)
			if r.below(10) > 0 {
				buf = append(buf, "&channel_id="...)
				buf = strconv.AppendInt(buf, channelID(i), 10)
			}
			channels = append(channels, channel{name: "channel-" + strconv.Itoa(i), url: string(buf)})
		}
	})
	return channels
}

// channelID is the channel_id url parameter of channel i: its 32 bits
// reversed, as a non-negative number.
func channelID(i int) int64 {
	var rev uint32
	for b, x := 0, uint32(i); b < 32; b, x = b+1, x>>1 {
		rev = rev<<1 | x&1
	}
	v := int64(int32(rev))
	if v < 0 {
		v = -v
	}
	return v
}

// baseURL appends https://www.nexmark.com/<w>/<w>/<w>/item.htm?query=1
// with three short random words (3 or 4 characters, '_' as the special one).
func baseURL(dst []byte, r *rng) []byte {
	dst = append(dst, "https://www.nexmark.com/"...)
	for range 3 {
		dst = r.word(dst, 5, '_')
		dst = append(dst, '/')
	}
	return append(dst, "item.htm?query=1"...)
}

// pickChannel returns the index into channelTable of a bid's channel.
func pickChannel(r *rng) int {
	if r.below(hotChannelRatio) > 0 {
		return int(r.below(int64(len(hotChannels))))
	}
	return len(hotChannels) + int(r.below(numChannels))
}

// personName returns the index into fullNames of person event n's name.
func personName(salt uint64, n int64) int {
	r := at(salt, n)
	f := r.below(int64(len(firstNames)))
	return int(f)*len(lastNames) + int(r.below(int64(len(lastNames))))
}

// email appends the email address of a person: word@word.com.
func email(dst []byte, salt uint64, n int64) []byte {
	r := at(salt, n)
	dst = r.word(dst, 7, ' ')
	dst = append(dst, '@')
	dst = r.word(dst, 5, ' ')
	return append(dst, ".com"...)
}

// creditCardLen is the length of "dddd dddd dddd dddd".
const creditCardLen = 19

// creditCard appends four space-separated groups of 4 digits.
func creditCard(dst []byte, salt uint64, n int64) []byte {
	r := at(salt, n)
	for g := range 4 {
		if g > 0 {
			dst = append(dst, ' ')
		}
		v := r.below(10000)
		dst = append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	}
	return dst
}

// city and state of person event n.
func city(salt uint64, n int64) string {
	r := at(salt, n)
	return cities[r.below(int64(len(cities)))]
}

func state(salt uint64, n int64) string {
	r := at(salt, n)
	return states[r.below(int64(len(states)))]
}
