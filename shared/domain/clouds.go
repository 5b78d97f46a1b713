package domain

import (
	"strings"

	"github.com/azlocal/registrar/shared/api"
)

// Clouds accepted by Register (docs/messages.md).
const (
	CloudPublic = api.CloudPublic
	CloudChina  = api.CloudChina
	CloudUSGov  = api.CloudUSGov
)

// CanonicalCloud spells a known cloud name as above whatever its letter case ("azurechinacloud"
// → "AzureChinaCloud"); any other name is returned as given (Register refuses it).
func CanonicalCloud(name string) string {
	for _, c := range []string{CloudPublic, CloudChina, CloudUSGov} {
		if strings.EqualFold(name, c) {
			return c
		}
	}
	return name
}

// NormaliseRegion lower-cases a region and removes its spaces ("East US" → "eastus").
func NormaliseRegion(r string) string {
	return strings.ToLower(strings.Join(strings.Fields(r), ""))
}

// regionAllowed reports whether region (normalised) is offered in cloud under policy p.
func (p Policy) regionAllowed(cloud, region string) bool {
	switch cloud {
	case CloudChina:
		return region == "chinaeast2"
	case CloudUSGov:
		return region == "usgovvirginia"
	case CloudPublic:
		for _, r := range p.Regions {
			if NormaliseRegion(r) == region {
				return true
			}
		}
	}
	return false
}
