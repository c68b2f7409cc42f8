package gatehouse

import "time"

// Band is a DORA performance band.
type Band string

// The bands, best first. BandNone is a metric with nothing to rate (no deployments, no
// changes, no failures to restore).
const (
	BandElite  Band = "elite"
	BandHigh   Band = "high"
	BandMedium Band = "medium"
	BandLow    Band = "low"
	BandNone   Band = ""
)

const day = 24 * time.Hour

// doraBands are the performance bands of the 2021 Accelerate State of DevOps Report (DORA,
// Google Cloud, "How do we compare?" table):
//
//	                      elite                  high                     medium                     low
//	deployment frequency  on demand (several     once a week to           once a month to            fewer than once
//	                      deploys a day)         once a month             once every six months      every six months
//	lead time for changes less than one hour     one day to one week      one month to six months    more than six months
//	time to restore       less than one hour     less than one day        one day to one week        more than six months
//	change failure rate   0-15%                  16-30%                   16-30%                     16-30%
//
// The report's ranges leave gaps (a lead time of five hours, a deployment every other day);
// a figure in a gap gets the lower of the two bands around it, so each row here is the
// bound a figure must meet to be in the band. The report gives high, medium and low the same
// change failure rate; a rate up to 30% rates high, and a rate above every range low.
var doraBands = struct {
	frequency []bandBound[float64] // deployments per day, at least
	leadTime  []bandBound[time.Duration]
	restore   []bandBound[time.Duration] // less than
	failure   []bandBound[float64]       // at most
}{
	frequency: []bandBound[float64]{{BandElite, 1}, {BandHigh, 1.0 / 30}, {BandMedium, 1.0 / 182}},
	leadTime:  []bandBound[time.Duration]{{BandElite, time.Hour}, {BandHigh, 7 * day}, {BandMedium, 182 * day}},
	restore:   []bandBound[time.Duration]{{BandElite, time.Hour}, {BandHigh, day}, {BandMedium, 7 * day}},
	failure:   []bandBound[float64]{{BandElite, 0.15}, {BandHigh, 0.30}},
}

type bandBound[T int64 | float64 | time.Duration] struct {
	band  Band
	bound T
}

// rate returns the first band whose bound v meets (meets(v, bound)), or low.
func rate[T int64 | float64 | time.Duration](bounds []bandBound[T], v T, meets func(v, bound T) bool) Band {
	for _, b := range bounds {
		if meets(v, b.bound) {
			return b.band
		}
	}
	return BandLow
}

// FrequencyBand rates deployments per day.
func FrequencyBand(perDay float64) Band {
	return rate(doraBands.frequency, perDay, func(v, b float64) bool { return v >= b })
}

// LeadTimeBand rates a median lead time for changes.
func LeadTimeBand(d time.Duration) Band {
	return rate(doraBands.leadTime, d, func(v, b time.Duration) bool { return v < b })
}

// RestoreBand rates a median time to restore.
func RestoreBand(d time.Duration) Band {
	return rate(doraBands.restore, d, func(v, b time.Duration) bool { return v < b })
}

// FailureBand rates a change failure rate (a ratio in [0, 1]).
func FailureBand(r float64) Band {
	return rate(doraBands.failure, r, func(v, b float64) bool { return v <= b })
}
